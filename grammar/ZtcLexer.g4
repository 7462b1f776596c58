// Tokens of the ztc capture-policy language. Newlines are insignificant:
// every statement, match and action starts with a keyword, so `;` is optional.
lexer grammar ZtcLexer;

INCLUDE  : 'include';
PARAM    : 'param';
TABLE    : 'table';
MARK     : 'mark';
IFACE    : 'iface';
GROUP    : 'group';
ADDR     : 'addr';
SET      : 'set';
MANAGED  : 'managed';
ANY_ADDRESS : 'any_address';
COMMENT  : 'comment';
BYPASS   : 'bypass';
CAPTURE  : 'capture';
NAT      : 'nat';
RULE     : 'rule';
ROUTE    : 'route';
FOR      : 'for';
SYSCTL   : 'sysctl';
ALL      : 'all';

IP       : 'ip';
IP6      : 'ip6';
INET     : 'inet';
IPV4     : 'ipv4';
IPV6     : 'ipv6';

IIF      : 'iif';
OIF      : 'oif';
SADDR    : 'saddr';
DADDR    : 'daddr';
TCP      : 'tcp';
UDP      : 'udp';
SPORT    : 'sport';
DPORT    : 'dport';
CT       : 'ct';
HAS      : 'has';
LACKS    : 'lacks';

RETURN   : 'return';
ACCEPT   : 'accept';
DROP     : 'drop';
SAVE     : 'save';
RESTORE  : 'restore';
NO       : 'no';
DNAT     : 'dnat';
TO       : 'to';
COUNTER  : 'counter';

FROM     : 'from';
FWMARK   : 'fwmark';
LOOKUP   : 'lookup';
GOTO     : 'goto';
DEFAULT  : 'default';
MEMBER   : 'member';
VIA      : 'via';
DEV      : 'dev';
ONLINK   : 'onlink';
SCOPE    : 'scope';
SRC      : 'src';
METRIC   : 'metric';

ARROW    : '=>';
EQEQ     : '==';
NE       : '!=';
OR_ASSIGN  : '|=';
AND_ASSIGN : '&=';
TILDE    : '~';
ASSIGN   : '=';
PIPE     : '|';
SLASH    : '/';
COLON    : ':';
COMMA    : ',';
SEMI     : ';';
LBRACE   : '{';
RBRACE   : '}';
LBRACKET : '[';
RBRACKET : ']';
AT       : '@';
DASH     : '-';

// Addresses before numbers and names: longest match keeps 10.0.0.0/8 and
// fd00::/64 one token. An IPv6 literal needs two colons, so `name:` stays a
// name followed by ':'.
IPV4_LITERAL : DEC_OCTET '.' DEC_OCTET '.' DEC_OCTET '.' DEC_OCTET ('/' [0-9]+)?;
IPV6_LITERAL : HEX_GROUP? ':' HEX_GROUP? ':' [0-9a-fA-F:.]* ('/' [0-9]+)?;
NUMBER   : '0' [xX] [0-9a-fA-F]+ | [0-9]+;
ID       : [a-zA-Z_] [a-zA-Z_0-9]*;
STRING   : '"' (~["\\\r\n] | '\\' ~[\r\n])* '"';

LINE_COMMENT : '#' ~[\r\n]* -> skip;
WS       : [ \t\r\n]+ -> skip;
// Anything else becomes a token the parser rejects with a located error.
UNKNOWN  : .;

fragment DEC_OCTET : [0-9] [0-9]? [0-9]?;
fragment HEX_GROUP : [0-9a-fA-F]+;
