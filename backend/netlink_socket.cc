#include "backend/netlink_socket.h"

#include <linux/netlink.h>
#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cstring>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

namespace ztc::netlink {
namespace {

// A dump message can exceed one page: read each one's size first.
constexpr int kReceiveBufferBytes = 32768;
// The kernel answers every request; a receive that waits this long means it
// will not, and the request fails instead of hanging ztc.
constexpr int kReceiveTimeoutSeconds = 30;
// Every round reads at least one message or fails; a dump of 100k routes
// takes a few thousand.
constexpr int kMaxRounds = 1000000;
constexpr int kDumpAttempts = 5;

struct Exchange {
  const Socket::MessageHandler* on_message = nullptr;
  bool done = false;
  Failure failure;
  bool refused = false;
};

// The extended-ack attributes after an NLMSG_ERROR's (or NLMSG_DONE's) payload.
void read_ack_attributes(const nlmsghdr* header, size_t payload_size, Failure* failure) {
  if (!(header->nlmsg_flags & NLM_F_ACK_TLVS)) return;
  size_t offset = NLMSG_HDRLEN + NLMSG_ALIGN(payload_size);
  if (offset >= header->nlmsg_len) return;
  nlattr* attributes[NLMSGERR_ATTR_MAX + 1] = {};
  auto* head =
      reinterpret_cast<nlattr*>(const_cast<char*>(reinterpret_cast<const char*>(header)) + offset);
  if (nla_parse(attributes, NLMSGERR_ATTR_MAX, head, static_cast<int>(header->nlmsg_len - offset),
                nullptr) != 0) {
    return;
  }
  if (nlattr* message = attributes[NLMSGERR_ATTR_MSG]) {
    const char* text = static_cast<const char*>(nla_data(message));
    failure->kernel_message.assign(text, strnlen(text, static_cast<size_t>(nla_len(message))));
  }
  if (nlattr* at = attributes[NLMSGERR_ATTR_OFFS]; at && nla_len(at) >= 4) {
    failure->attribute_offset = nla_get_u32(at);
  }
}

int on_valid(nl_msg* msg, void* arg) {
  auto* exchange = static_cast<Exchange*>(arg);
  if (*exchange->on_message) (*exchange->on_message)(nlmsg_hdr(msg));
  return NL_OK;
}

int on_ack(nl_msg*, void* arg) {
  static_cast<Exchange*>(arg)->done = true;
  return NL_STOP;
}

// NLMSG_DONE carries the dump's errno, negative when it failed part way.
int on_finish(nl_msg* msg, void* arg) {
  auto* exchange = static_cast<Exchange*>(arg);
  exchange->done = true;
  nlmsghdr* header = nlmsg_hdr(msg);
  if (header->nlmsg_len >= NLMSG_HDRLEN + sizeof(int)) {
    int error = 0;
    std::memcpy(&error, nlmsg_data(header), sizeof error);
    if (error < 0) {
      exchange->refused = true;
      exchange->failure.kernel_errno = -error;
      read_ack_attributes(header, sizeof error, &exchange->failure);
    }
  }
  return NL_STOP;
}

int on_error(sockaddr_nl*, nlmsgerr* err, void* arg) {
  auto* exchange = static_cast<Exchange*>(arg);
  exchange->done = true;
  exchange->refused = true;
  exchange->failure.kernel_errno = -err->error;
  // libnl hands over the payload; the header, whose flags say what follows, is before it.
  auto* header = reinterpret_cast<nlmsghdr*>(reinterpret_cast<char*>(err) - NLMSG_HDRLEN);
  size_t payload = sizeof(*err);
  // Unless capped, the kernel echoes the whole request before the attributes.
  if (!(header->nlmsg_flags & NLM_F_CAPPED)) payload += err->msg.nlmsg_len - NLMSG_HDRLEN;
  read_ack_attributes(header, payload, &exchange->failure);
  return NL_STOP;
}

Failure socket_failure(int libnl_error) {
  Failure failure;
  failure.socket_error = nl_geterror(libnl_error);
  failure.dump_interrupted = libnl_error == -NLE_DUMP_INTR;
  return failure;
}

}  // namespace

std::string Failure::text() const {
  if (kernel_errno == 0) return "netlink: " + socket_error;
  std::string reason = std::strerror(kernel_errno);
  if (!kernel_message.empty()) reason += " (" + kernel_message + ")";
  return reason;
}

std::unique_ptr<Socket> Socket::open(int protocol, std::string* error) {
  nl_sock* sock = nl_socket_alloc();
  if (!sock) {
    *error = "netlink: cannot allocate a socket";
    return nullptr;
  }
  int rc = nl_connect(sock, protocol);
  if (rc < 0) {
    *error = std::string("netlink: cannot connect: ") + nl_geterror(rc);
    nl_socket_free(sock);
    return nullptr;
  }
  nl_socket_enable_msg_peek(sock);
  nl_socket_set_msg_buf_size(sock, kReceiveBufferBytes);
  // Extended acks carry the kernel's words for a refusal; older kernels ignore the option.
  int one = 1;
  setsockopt(nl_socket_get_fd(sock), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  timeval timeout{kReceiveTimeoutSeconds, 0};
  setsockopt(nl_socket_get_fd(sock), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  return std::unique_ptr<Socket>(new Socket(sock));
}

Socket::~Socket() { nl_socket_free(sock_); }

bool Socket::set_strict_checking(bool on) {
  int value = on ? 1 : 0;
  return setsockopt(nl_socket_get_fd(sock_), SOL_NETLINK, NETLINK_GET_STRICT_CHK, &value,
                    sizeof value) == 0;
}

Result Socket::filtered_dump(nl_msg* request, const MessageHandler& on_message,
                             const std::function<void()>& restart, bool* filtered) {
  *filtered = set_strict_checking(true);
  Result result = dump(request, on_message, restart);
  if (*filtered) set_strict_checking(false);
  return result;
}

Result Socket::exchange(nl_msg* request, const MessageHandler& on_message) {
  nlmsghdr* header = nlmsg_hdr(request);
  header->nlmsg_seq = NL_AUTO_SEQ;
  header->nlmsg_pid = NL_AUTO_PORT;
  int rc = nl_send_auto(sock_, request);
  if (rc < 0) return socket_failure(rc);
  Exchange exchange;
  exchange.on_message = &on_message;
  nl_cb* base = nl_socket_get_cb(sock_);
  nl_cb* cb = nl_cb_clone(base);
  nl_cb_put(base);
  if (!cb) return socket_failure(-NLE_NOMEM);
  nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, &exchange);
  nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_ack, &exchange);
  nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, on_finish, &exchange);
  nl_cb_err(cb, NL_CB_CUSTOM, on_error, &exchange);
  rc = 0;
  for (int round = 0; !exchange.done && round < kMaxRounds; ++round) {
    rc = nl_recvmsgs(sock_, cb);
    // An interrupted dump is read to its end first; libnl says so afterwards.
    if (rc < 0) break;
  }
  nl_cb_put(cb);
  if (exchange.refused) return exchange.failure;
  if (rc < 0) return socket_failure(rc);
  if (!exchange.done) {
    Failure endless;
    endless.socket_error = "the answer did not end within " + std::to_string(kMaxRounds) + " reads";
    return endless;
  }
  return std::nullopt;
}

Result Socket::dump(nl_msg* request, const MessageHandler& on_message,
                    const std::function<void()>& restart) {
  Result result;
  for (int attempt = 0; attempt < kDumpAttempts; ++attempt) {
    if (attempt > 0) restart();
    result = exchange(request, on_message);
    if (!result || !result->dump_interrupted) return result;
  }
  return result;
}

}  // namespace ztc::netlink
