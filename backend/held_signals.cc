#include "backend/held_signals.h"

#include <pthread.h>

#include <cerrno>
#include <ctime>

namespace ztc {
namespace {

constexpr int kHeld[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM};

sigset_t held_set() {
  sigset_t set;
  sigemptyset(&set);
  for (int signal : kHeld) sigaddset(&set, signal);
  return set;
}

}  // namespace

void HeldSignals::hold() {
  if (holding_) return;
  sigemptyset(&ignored_);
  for (int signal : kHeld) {
    struct sigaction action {};
    if (sigaction(signal, nullptr, &action) == 0 && action.sa_handler == SIG_IGN) {
      sigaddset(&ignored_, signal);
    }
  }
  sigset_t set = held_set();
  pthread_sigmask(SIG_BLOCK, &set, &previous_mask_);
  holding_ = true;
}

HeldSignals::Arrived HeldSignals::release() {
  Arrived arrived;
  if (!holding_) return arrived;
  sigset_t set = held_set();
  const struct timespec now {};
  for (;;) {
    int signal = sigtimedwait(&set, nullptr, &now);
    if (signal < 0 && errno == EINTR) continue;
    if (signal <= 0) break;
    bool ignored = sigismember(&ignored_, signal) == 1;
    // The first that is a reason to stop wins over any ignored one.
    if (arrived.signal == 0 || (arrived.ignored && !ignored)) arrived = {signal, ignored};
  }
  holding_ = false;
  // One arrived: ztc is about to exit 128+signal; a later one must not cut
  // its last line short, so they stay blocked until then.
  if (arrived.signal == 0 || arrived.ignored) {
    pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr);
  }
  return arrived;
}

HeldSignals::~HeldSignals() {
  if (holding_) pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr);
}

std::string signal_name(int signal) {
  switch (signal) {
    case SIGHUP: return "SIGHUP";
    case SIGINT: return "SIGINT";
    case SIGQUIT: return "SIGQUIT";
    case SIGTERM: return "SIGTERM";
  }
  return "signal " + std::to_string(signal);
}

}  // namespace ztc
