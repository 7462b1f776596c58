// The members of managed sets, kept on disk so that a reboot can put them
// back: after every successful change of a set (`ztc set`, ztc-cni) its
// members are written to DIR/FAMILY.TABLE.SET.members, one member a line as
// `ztc set list` prints them, so `ztc set sync POLICY SET --from FILE`
// restores them (tools/systemd/ztc-boot does at boot).
//
// The file is replaced atomically (a temporary file in the same directory,
// fsync, rename), never followed through a symlink, so a crash leaves the old
// file or the new one. Callers hold the table's ApplyLock, so writers of one
// namespace do not race; the temporary name carries the pid for the others.
#pragma once

#include <iosfwd>
#include <string>

#include "backend/enroll.h"

namespace ztc {

// $ZTC_STATE_DIR when set; else /var/lib/ztc when ztc works on its own
// network namespace; else "" (not kept): another namespace (--netns) is not
// this host's state.
std::string member_state_dir(bool other_netns);

// DIR/FAMILY.TABLE.SET.members, e.g. /var/lib/ztc/ip.ztunnel.pods.members.
std::string member_state_path(const std::string& dir, const SetTarget& target);

// Writes the set's members as the kernel lists them. Creates DIR (0755) when
// missing. False with `error` ("cannot write ...: reason").
bool save_member_state(const std::string& dir, const SetTarget& target, nft::SetReader& reader,
                       std::string* error);

// The one call after a successful set change: saves when the set changed or
// its file is missing; does nothing when `dir` is "". A failure is a warning
// on `err` (the kernel change stands; the next change writes again).
void keep_member_state(const std::string& dir, const SetTarget& target, nft::SetReader& reader,
                       bool changed, std::ostream& err);

}  // namespace ztc
