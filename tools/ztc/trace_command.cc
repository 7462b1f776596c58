// ztc trace: adds the trace chains (backend/trace.h), reads `monitor trace`
// through libnftables in a thread of its own, and prints each event as the
// policy's lines until --count packets, --timeout or a signal; then removes
// the chains. Signals are blocked in every thread and read from a signalfd,
// so the chains are removed whatever ends the trace (but SIGKILL: the next
// load or diff removes them).
#include "tools/ztc/trace_command.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ostream>

#include "backend/route_get.h"
#include "backend/trace.h"
#include "tools/ztc/node_access.h"
#include "tools/ztc/policy_input.h"

namespace ztc {
namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

int run_trace(const TraceOptions& options, std::ostream& out, std::ostream& err) {
  Diagnostics diagnostics;
  auto compiled = compile_from_options(options.policy, diagnostics);
  err << diagnostics.render();
  if (!compiled) return kExitFailure;
  const nft::Table& table = compiled->table;
  std::string error;
  std::optional<trace::Selector> selected = trace::selector(options.match, table.family, &error);
  if (!selected) {
    err << "ztc: error: " << error << "\n";
    return kExitUsage;
  }
  auto node = open_node(options.node, "trace", &error);
  if (!node) {
    err << "ztc: error: " << error << "\n";
    return kExitFailure;
  }
  std::string ref = nft::table_spec(table.family, table.name);
  if (!node->nft->list_table(table.family, table.name, false)) {
    err << "ztc: error: table " << ref << " is not loaded: load the policy first\n";
    return kExitFailure;
  }
  for (const std::string& line : trace::remove_stale(*node->nft, table.family, table.name, &error))
    err << "ztc: " << line << "\n";

  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // the monitor thread inherits it
  int signal_fd = signalfd(-1, &signals, SFD_CLOEXEC);
  int pipe_fds[2];
  if (signal_fd < 0 || pipe2(pipe_fds, O_CLOEXEC) != 0) {
    err << "ztc: error: cannot set up the trace: " << std::strerror(errno) << "\n";
    return kExitFailure;
  }
  // The rule goes in once the monitor listens (or after 10 s anyway).
  trace::start_monitor(pipe_fds[1], std::chrono::seconds(10));

  nft::ApplyResult added = node->nft->run(
      trace::add_buffer(table.family, table.name, *selected, static_cast<int>(getpid())), false);
  if (!added.success) {
    err << "ztc: error: the kernel refused the trace rule: " << added.error;
    return kExitFailure;
  }
  err << "ztc: tracing " << (selected->match.empty() ? "every packet" : selected->match)
      << (selected->hooks.size() == 1 ? " sent by the node" : "") << " in table " << ref
      << " (up to " << options.count << " packets, " << options.timeout_seconds << " s)\n";

  trace::Narrator narrator(table);
  int caught = 0;
  const Clock::time_point deadline =
      Clock::now() + std::chrono::milliseconds(static_cast<long>(options.timeout_seconds * 1000));
  std::optional<Clock::time_point> done_at;  // count reached: the last packet's events trail
  std::string pending;
  while (true) {
    Clock::time_point now = Clock::now();
    Clock::time_point until = done_at ? std::min(deadline, *done_at) : deadline;
    if (now >= until) break;
    int wait_ms = static_cast<int>(
                      std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count()) +
                  1;
    pollfd fds[2] = {{pipe_fds[0], POLLIN, 0}, {signal_fd, POLLIN, 0}};
    if (poll(fds, 2, wait_ms) < 0) continue;
    if (fds[1].revents & POLLIN) {
      signalfd_siginfo info{};
      if (read(signal_fd, &info, sizeof info) == sizeof info)
        caught = static_cast<int>(info.ssi_signo);
      break;
    }
    if (!(fds[0].revents & (POLLIN | POLLHUP))) continue;
    char buffer[4096];
    ssize_t n = read(pipe_fds[0], buffer, sizeof buffer);
    if (n <= 0) break;  // the monitor ended
    pending.append(buffer, static_cast<size_t>(n));
    size_t newline;
    while ((newline = pending.find('\n')) != std::string::npos) {
      std::string text = pending.substr(0, newline);
      pending.erase(0, newline + 1);
      std::optional<trace::Event> event = trace::parse_event(text);
      if (!event) continue;
      size_t before = narrator.packets();
      if (before >= static_cast<size_t>(options.count) && !narrator.known(event->id)) continue;
      std::string line = narrator.line(*event);
      if (!line.empty()) out << line << "\n" << std::flush;
      if (narrator.packets() >= static_cast<size_t>(options.count) && !done_at) {
        done_at = Clock::now() + std::chrono::milliseconds(300);
      }
    }
  }
  std::vector<std::string> chains;
  for (const std::string& hook : selected->hooks) chains.push_back(trace::kChainPrefix + hook);
  nft::ApplyResult removed =
      node->nft->run(trace::remove_buffer(table.family, table.name, chains), false);
  if (!removed.success) {
    err << "ztc: error: cannot remove the trace chains (the next load or diff will): "
        << removed.error;
  }
  // The routing decision for each packet with the mark it ended with (asked
  // now, after the fact: the routes are those of this moment).
  for (const auto& [number, key] : narrator.packet_keys()) {
    char mark[16];
    std::snprintf(mark, sizeof mark, "0x%x", key.mark);
    std::optional<route::Decision> decision = route::route_get(key, &error);
    out << "packet " << number << ": route with mark " << mark << ": "
        << (decision ? route::describe(*decision) : "the kernel says: " + error) << "\n";
  }
  out << narrator.packets() << (narrator.packets() == 1 ? " packet" : " packets") << " traced\n";
  out.flush();
  if (caught) return 128 + caught;
  return removed.success ? kExitOk : kExitFailure;
}

}  // namespace ztc
