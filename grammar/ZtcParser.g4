// Syntax of the ztc capture-policy language. Names are resolved and every
// value is type-checked later (compiler/check.cc); this grammar only fixes
// the shape, so that errors about meaning can say what was meant.
parser grammar ZtcParser;

options { tokenVocab = ZtcLexer; }

policy : statement* EOF;

statement
  : includeStmt
  | paramStmt
  | tableStmt
  | markStmt
  | ifaceStmt
  | groupStmt
  | addrStmt
  | setStmt
  | bypassStmt
  | captureStmt
  | ruleStmt
  | routeStmt
  | sysctlStmt
  | SEMI
  ;

includeStmt : INCLUDE STRING;

// param ztunnel_ip: ipv4 = 10.244.1.2
paramStmt : PARAM ID COLON typeName (ASSIGN value)?;
typeName  : ID | IPV4 | IPV6;

// table ip ztunnel
tableStmt : TABLE family=(IP | IP6 | INET) ID;

// mark proxy = skip | 0x010   /   mark field 0x100/0xf00
markStmt : MARK ID ASSIGN? markExpr (SLASH markExpr)?;
markExpr : markTerm (PIPE markTerm)*;
markTerm : NUMBER | ID;

iface       : STRING | ID;
ifaceStmt   : IFACE ID ASSIGN iface;
groupStmt   : GROUP ID ASSIGN LBRACE iface (COMMA iface)* COMMA? RBRACE;
addrStmt    : ADDR ID ASSIGN value;

// set pods: ipv4 managed   /   set dns: ipv4 = { 10.96.0.10 comment "kube-dns" }
// `managed any_address`: members may be any address (loopback, multicast, ...)
setStmt     : SET ID COLON typeName (MANAGED ANY_ADDRESS?)? (ASSIGN LBRACE (setElement (COMMA setElement)* COMMA?)? RBRACE)?;
// Tokens, not `value`: a set can hold 100k members, and every rule context
// costs an allocation and a dynamic_cast to read.
setElement  : member=(STRING | NUMBER | IPV4_LITERAL | IPV6_LITERAL | ID) (COMMENT comment=STRING)?;

// bypass udp 6081
bypassStmt  : BYPASS protocol portList;
protocol    : TCP | UDP;
portList    : portRange (COMMA portRange)*;
portRange   : portValue (DASH portValue)?;
portValue   : NUMBER | ID;

// capture prerouting { iif tunnel_in => mark |= skip, return }
// nat prerouting, postrouting { mark has outbound => no nat }
captureStmt : kind=(CAPTURE | NAT) ID (COMMA ID)* LBRACE captureRule* RBRACE;
captureRule : captureMatch* ARROW captureAction (COMMA captureAction)* SEMI?;

captureMatch
  : IIF NE? iface (COMMA iface)*                     # interfaceInMatch
  | OIF NE? iface (COMMA iface)*                     # interfaceOutMatch
  | SADDR NE? address (COMMA address)*               # sourceMatch
  | DADDR NE? address (COMMA address)*               # destinationMatch
  | protocol (direction=(SPORT | DPORT) NE? portList)?  # protocolMatch
  | BYPASS                                           # bypassMatch
  | CT? MARK op=(HAS | LACKS | EQEQ | NE) markExpr   # markMatch
  ;

address : value | AT ID;

captureAction
  : CT? MARK op=(OR_ASSIGN | ASSIGN) markExpr        # markAssignAction
  | CT? MARK AND_ASSIGN TILDE markExpr               # markClearAction
  | CT copy=(SAVE | RESTORE) markExpr                # ctCopyAction
  | verdict=(RETURN | ACCEPT | DROP)                 # verdictAction
  | NO NAT                                           # noNatAction
  | DNAT TO dnatTarget                               # dnatAction
  | COUNTER                                          # counterAction
  ;
dnatTarget : value (COLON portValue)? | LBRACKET value RBRACKET COLON portValue;

// rule 100 fwmark skip goto main
ruleStmt     : RULE ipFamily? NUMBER ruleSelector* ruleAction;
ipFamily     : IPV4 | IPV6;
ruleSelector : FROM address                          # ruleFrom
             | IIF iface                             # ruleIif
             | FWMARK markExpr (SLASH markExpr)?     # ruleFwmark
             ;
ruleAction   : LOOKUP tableRef | GOTO (NUMBER | ID);
tableRef     : NUMBER | ID | DEFAULT;

// route 101 { default via 192.168.127.2 dev tunnel_out }
// route 100 for pods { member via 192.168.126.2 dev tunnel_in src host_ip }
routeStmt    : ROUTE ipFamily? tableRef (FOR ID)? LBRACE routeEntry* RBRACE;
routeEntry   : routeDest routeAttr* SEMI?;
routeDest    : DEFAULT | MEMBER | value;
routeAttr    : VIA value                             # routeVia
             | DEV iface                             # routeDev
             | ONLINK                                # routeOnlink
             | SCOPE ID                              # routeScope
             | SRC value                             # routeSrc
             | METRIC NUMBER                         # routeMetric
             ;

// sysctl all, default, tunnel_in { rp_filter = 0; accept_local = 1 }
sysctlStmt    : SYSCTL sysctlTarget (COMMA sysctlTarget)* LBRACE sysctlSetting* RBRACE;
sysctlTarget  : iface | ALL | DEFAULT;
sysctlSetting : ID ASSIGN NUMBER SEMI?;

// A literal or a name: what it must be is decided by the checker.
value : STRING | NUMBER | IPV4_LITERAL | IPV6_LITERAL | ID;
