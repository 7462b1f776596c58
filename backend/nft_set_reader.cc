#include "backend/nft_set_reader.h"

#include <arpa/inet.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>

#include "backend/netlink_socket.h"
#include "backend/nft_text.h"
#include "model/ip_address.h"

namespace ztc::nft {
namespace {

// nft's datatype ids (src/datatype.h: TYPE_IPADDR ...), what NFTA_SET_KEY_TYPE holds.
constexpr uint32_t kTypeIpv4 = 7;
constexpr uint32_t kTypeIpv6 = 8;
constexpr uint32_t kTypeService = 13;
constexpr uint32_t kTypeIfname = 41;
constexpr size_t kIfnameSize = 16;  // IFNAMSIZ: nft stores interface names padded to it

// linux/netfilter.h's NFPROTO_* (that header clashes with netinet/in.h).
uint8_t nfproto(Family family) {
  switch (family) {
    case Family::ip: return 2;    // NFPROTO_IPV4
    case Family::ip6: return 10;  // NFPROTO_IPV6
    case Family::inet: return 1;  // NFPROTO_INET
  }
  return 2;
}

// Userdata is a list of TLVs: type (u8), length (u8), value. Comments carry a
// trailing NUL; their type is 0 for tables and set elements, 7 for sets
// (libnftnl's NFTNL_UDATA_SET_COMMENT).
constexpr unsigned kSetCommentType = 7;
std::string udata_comment(const nlattr* attr, unsigned comment_type = 0) {
  if (!attr) return "";
  const auto* data = static_cast<const unsigned char*>(nla_data(attr));
  size_t size = static_cast<size_t>(nla_len(attr));
  for (size_t at = 0; at + 2 <= size;) {
    unsigned type = data[at];
    size_t length = data[at + 1];
    if (at + 2 + length > size) break;
    if (type == comment_type) {
      std::string text(reinterpret_cast<const char*>(data + at + 2), length);
      while (!text.empty() && text.back() == '\0') text.pop_back();
      return text;
    }
    at += 2 + length;
  }
  return "";
}

uint32_t be32(const nlattr* attr) {
  return attr ? ntohl(nla_get_u32(const_cast<nlattr*>(attr))) : 0;
}

struct MsgDeleter {
  void operator()(nl_msg* msg) const { nlmsg_free(msg); }
};
using MsgPtr = std::unique_ptr<nl_msg, MsgDeleter>;

MsgPtr new_request(int type, int flags, Family family) {
  MsgPtr msg(nlmsg_alloc_simple((NFNL_SUBSYS_NFTABLES << 8) | type, flags));
  if (!msg) return nullptr;
  nfgenmsg header{};
  header.nfgen_family = nfproto(family);
  header.version = NFNETLINK_V0;
  header.res_id = htons(0);
  if (nlmsg_append(msg.get(), &header, sizeof header, NLMSG_ALIGNTO) < 0) return nullptr;
  return msg;
}

// What the kernel refused is said after `context`; a failed socket speaks for itself.
std::string kernel_or_socket(const std::string& context, const netlink::Failure& failure) {
  return failure.kernel_errno ? context + failure.text() : failure.text();
}

// The members in one NFT_MSG_NEWSETELEM message.
void parse_elements(nlmsghdr* header, uint32_t key_type, std::vector<Element>* out) {
  nlattr* list[NFTA_SET_ELEM_LIST_MAX + 1] = {};
  if (nlmsg_parse(header, sizeof(nfgenmsg), list, NFTA_SET_ELEM_LIST_MAX, nullptr) < 0) return;
  if (!list[NFTA_SET_ELEM_LIST_ELEMENTS]) return;
  nlattr* item = nullptr;
  int remaining = 0;
  nla_for_each_nested(item, list[NFTA_SET_ELEM_LIST_ELEMENTS], remaining) {
    nlattr* elem[NFTA_SET_ELEM_MAX + 1] = {};
    if (nla_parse_nested(elem, NFTA_SET_ELEM_MAX, item, nullptr) < 0) continue;
    if (!elem[NFTA_SET_ELEM_KEY]) continue;
    if (be32(elem[NFTA_SET_ELEM_FLAGS]) & NFT_SET_ELEM_INTERVAL_END) continue;
    nlattr* data[NFTA_DATA_MAX + 1] = {};
    if (nla_parse_nested(data, NFTA_DATA_MAX, elem[NFTA_SET_ELEM_KEY], nullptr) < 0) continue;
    if (!data[NFTA_DATA_VALUE]) continue;
    std::string bytes(static_cast<const char*>(nla_data(data[NFTA_DATA_VALUE])),
                      static_cast<size_t>(nla_len(data[NFTA_DATA_VALUE])));
    Element element;
    std::optional<std::string> value = decode_key(key_type, bytes);
    if (value) {
      element.value = *value;
    } else {  // a type ztc does not read: show the bytes
      static const char* hex = "0123456789abcdef";
      element.value = "0x";
      for (unsigned char c : bytes) {
        element.value += hex[c >> 4];
        element.value += hex[c & 15];
      }
    }
    element.comment = udata_comment(elem[NFTA_SET_ELEM_USERDATA]);
    out->push_back(std::move(element));
  }
}

}  // namespace

// ---------------------------------------------------------------------------
// Keys

std::string key_type_name(uint32_t key_type) {
  switch (key_type) {
    case kTypeIpv4: return "ipv4_addr";
    case kTypeIpv6: return "ipv6_addr";
    case kTypeService: return "inet_service";
    case kTypeIfname: return "ifname";
  }
  return "type " + std::to_string(key_type);
}

std::optional<std::string> encode_key(uint32_t key_type, uint32_t key_length,
                                      const std::string& value) {
  switch (key_type) {
    case kTypeIpv4:
    case kTypeIpv6: {
      std::optional<IpPrefix> address = parse_ip_prefix(value);
      IpFamily family = key_type == kTypeIpv4 ? IpFamily::v4 : IpFamily::v6;
      if (!address || address->family != family || !address->is_host()) return std::nullopt;
      size_t size = family == IpFamily::v4 ? 4 : 16;
      if (key_length != size) return std::nullopt;
      return std::string(reinterpret_cast<const char*>(address->bytes.data()), size);
    }
    case kTypeService: {
      if (value.empty() || value.size() > 5 || key_length != 2) return std::nullopt;
      unsigned number = 0;
      for (char c : value) {
        if (c < '0' || c > '9') return std::nullopt;
        number = number * 10 + static_cast<unsigned>(c - '0');
      }
      if (number > 65535) return std::nullopt;
      std::string bytes(2, '\0');
      bytes[0] = static_cast<char>(number >> 8);
      bytes[1] = static_cast<char>(number & 0xff);
      return bytes;
    }
    case kTypeIfname: {
      if (value.size() < 3 || value.front() != '"' || value.back() != '"') return std::nullopt;
      std::string name = value.substr(1, value.size() - 2);
      if (name.size() >= kIfnameSize || key_length != kIfnameSize) return std::nullopt;
      name.resize(kIfnameSize, '\0');
      return name;
    }
  }
  return std::nullopt;
}

std::optional<std::string> decode_key(uint32_t key_type, const std::string& bytes) {
  switch (key_type) {
    case kTypeIpv4:
    case kTypeIpv6: {
      size_t size = key_type == kTypeIpv4 ? 4 : 16;
      if (bytes.size() != size) return std::nullopt;
      IpPrefix address;
      address.family = key_type == kTypeIpv4 ? IpFamily::v4 : IpFamily::v6;
      address.length = address.max_length();
      std::memcpy(address.bytes.data(), bytes.data(), size);
      return address.address_str();
    }
    case kTypeService: {
      if (bytes.size() != 2) return std::nullopt;
      auto high = static_cast<unsigned char>(bytes[0]), low = static_cast<unsigned char>(bytes[1]);
      return std::to_string(high * 256u + low);
    }
    case kTypeIfname: {
      std::string name(bytes.c_str(), strnlen(bytes.data(), bytes.size()));
      return quoted_string(name);
    }
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// NetlinkSetReader

std::unique_ptr<NetlinkSetReader> NetlinkSetReader::open(std::string* error) {
  std::unique_ptr<netlink::Socket> socket = netlink::Socket::open(NETLINK_NETFILTER, error);
  if (!socket) return nullptr;
  return std::unique_ptr<NetlinkSetReader>(new NetlinkSetReader(std::move(socket)));
}

NetlinkSetReader::NetlinkSetReader(std::unique_ptr<netlink::Socket> socket)
    : socket_(std::move(socket)) {}

NetlinkSetReader::~NetlinkSetReader() = default;

ReadError NetlinkSetReader::describe(Family family, const std::string& table,
                                     const std::string& set, SetDescription* out) {
  *out = SetDescription{};
  {
    MsgPtr msg = new_request(NFT_MSG_GETTABLE, NLM_F_REQUEST, family);
    if (!msg || nla_put_string(msg.get(), NFTA_TABLE_NAME, table.c_str()) < 0) {
      return std::string("netlink: cannot build a request");
    }
    ++requests_;
    netlink::Result failure = socket_->exchange(msg.get(), [&](nlmsghdr* header) {
      nlattr* tb[NFTA_TABLE_MAX + 1] = {};
      if (nlmsg_parse(header, sizeof(nfgenmsg), tb, NFTA_TABLE_MAX, nullptr) < 0) return;
      out->table_exists = true;
      out->table_comment = udata_comment(tb[NFTA_TABLE_USERDATA]);
    });
    if (failure && failure->kernel_errno == ENOENT) return std::nullopt;
    if (failure) return kernel_or_socket("cannot read table: ", *failure);
  }
  MsgPtr msg = new_request(NFT_MSG_GETSET, NLM_F_REQUEST, family);
  if (!msg || nla_put_string(msg.get(), NFTA_SET_TABLE, table.c_str()) < 0 ||
      nla_put_string(msg.get(), NFTA_SET_NAME, set.c_str()) < 0) {
    return std::string("netlink: cannot build a request");
  }
  KeyFormat format;
  ++requests_;
  netlink::Result failure = socket_->exchange(msg.get(), [&](nlmsghdr* header) {
    nlattr* tb[NFTA_SET_MAX + 1] = {};
    if (nlmsg_parse(header, sizeof(nfgenmsg), tb, NFTA_SET_MAX, nullptr) < 0) return;
    out->set_exists = true;
    out->flags = be32(tb[NFTA_SET_FLAGS]);
    out->set_comment = udata_comment(tb[NFTA_SET_USERDATA], kSetCommentType);
    format.type = be32(tb[NFTA_SET_KEY_TYPE]);
    format.length = be32(tb[NFTA_SET_KEY_LEN]);
    out->type = key_type_name(format.type);
  });
  if (failure && failure->kernel_errno == ENOENT) return std::nullopt;
  if (failure) return kernel_or_socket("cannot read set: ", *failure);
  if (out->set_exists) formats_[object_spec(family, table, set)] = format;
  return std::nullopt;
}

ReadError NetlinkSetReader::key_format(Family family, const std::string& table,
                                       const std::string& set, KeyFormat* format) {
  auto cached = formats_.find(object_spec(family, table, set));
  if (cached == formats_.end()) {
    SetDescription description;
    if (ReadError error = describe(family, table, set, &description)) return error;
    if (!description.set_exists) {
      return std::string(description.table_exists ? "no such set" : "no such table");
    }
    cached = formats_.find(object_spec(family, table, set));
    if (cached == formats_.end()) return std::string("no such set");
  }
  *format = cached->second;
  return std::nullopt;
}

ReadError NetlinkSetReader::find(Family family, const std::string& table, const std::string& set,
                                 const std::vector<std::string>& values,
                                 std::vector<std::optional<Element>>* found) {
  found->assign(values.size(), std::nullopt);
  KeyFormat format;
  if (ReadError error = key_format(family, table, set, &format)) return error;
  for (size_t i = 0; i < values.size(); ++i) {
    std::optional<std::string> key = encode_key(format.type, format.length, values[i]);
    if (!key) continue;  // not of the set's type: cannot be a member
    MsgPtr msg = new_request(NFT_MSG_GETSETELEM, NLM_F_REQUEST, family);
    if (!msg || nla_put_string(msg.get(), NFTA_SET_ELEM_LIST_TABLE, table.c_str()) < 0 ||
        nla_put_string(msg.get(), NFTA_SET_ELEM_LIST_SET, set.c_str()) < 0) {
      return std::string("netlink: cannot build a request");
    }
    nlattr* elements = nla_nest_start(msg.get(), NFTA_SET_ELEM_LIST_ELEMENTS);
    nlattr* element = nla_nest_start(msg.get(), NFTA_LIST_ELEM);
    nlattr* key_attr = nla_nest_start(msg.get(), NFTA_SET_ELEM_KEY);
    if (!elements || !element || !key_attr ||
        nla_put(msg.get(), NFTA_DATA_VALUE, static_cast<int>(key->size()), key->data()) < 0) {
      return std::string("netlink: cannot build a request");
    }
    nla_nest_end(msg.get(), key_attr);
    nla_nest_end(msg.get(), element);
    nla_nest_end(msg.get(), elements);
    std::vector<Element> members;
    ++requests_;
    netlink::Result failure = socket_->exchange(
        msg.get(), [&](nlmsghdr* header) { parse_elements(header, format.type, &members); });
    if (failure && failure->kernel_errno == ENOENT) continue;
    if (failure) return kernel_or_socket("cannot look up " + values[i] + ": ", *failure);
    if (!members.empty()) (*found)[i] = std::move(members.front());
  }
  return std::nullopt;
}

ReadError NetlinkSetReader::list(Family family, const std::string& table, const std::string& set,
                                 std::vector<Element>* members) {
  KeyFormat format;
  if (ReadError error = key_format(family, table, set, &format)) return error;
  MsgPtr msg = new_request(NFT_MSG_GETSETELEM, NLM_F_REQUEST | NLM_F_DUMP, family);
  if (!msg || nla_put_string(msg.get(), NFTA_SET_ELEM_LIST_TABLE, table.c_str()) < 0 ||
      nla_put_string(msg.get(), NFTA_SET_ELEM_LIST_SET, set.c_str()) < 0) {
    return std::string("netlink: cannot build a request");
  }
  std::vector<Element> dumped;
  ++requests_;
  netlink::Result failure = socket_->dump(
      msg.get(), [&](nlmsghdr* header) { parse_elements(header, format.type, &dumped); },
      [&] {
        dumped.clear();
        ++requests_;
      });
  if (failure && failure->dump_interrupted) {
    return "cannot list set " + set + ": the dump kept being interrupted by other changes";
  }
  if (failure) return kernel_or_socket("cannot list set " + set + ": ", *failure);
  members->insert(members->end(), std::make_move_iterator(dumped.begin()),
                  std::make_move_iterator(dumped.end()));
  return std::nullopt;
}

}  // namespace ztc::nft
