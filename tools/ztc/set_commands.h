// ztc set add / del / list / sync: members of a managed set and their derived
// routes, changed without reloading anything else (backend/enroll.h).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "backend/enroll.h"
#include "tools/ztc/commands.h"

namespace ztc {

struct SetOptions {
  PolicyOptions policy;
  NodeOptions node;
  std::string set;
  // add/del: the ELEMENT... words, each element optionally followed by the
  // two words `comment TEXT`.
  std::vector<std::string> elements;
  std::string from;      // sync: a file of members, or "-" for stdin
  bool verbose = false;  // one line per element and route changed
  bool allow_empty = false;  // sync: an empty list may empty a non-empty set
};

int run_set_add(const SetOptions& options, std::ostream& out, std::ostream& err);
int run_set_del(const SetOptions& options, std::ostream& out, std::ostream& err);
int run_set_list(const SetOptions& options, std::ostream& out, std::ostream& err);
int run_set_sync(const SetOptions& options, std::ostream& out, std::ostream& err);

// What the elements a command left alone are, in the singular and plural:
// "1 already a member", "2 already members".
struct UnchangedWording {
  const char* one;
  const char* many;
};
inline constexpr UnchangedWording kAlreadyMembers{"already a member", "already members"};
inline constexpr UnchangedWording kNotMembers{"not a member", "not members"};
inline constexpr UnchangedWording kUnchanged{"unchanged", "unchanged"};

// The one line a changing command prints:
//   set pods: 1 added, 2 already members; routes: 1 added
std::string summary_line(const std::string& set, const EnrollResult& result,
                         const UnchangedWording& unchanged);

// `10.244.1.5 comment uid-1 10.244.1.6` -> two members. False with `error`
// when `comment` is not between an element and its text.
bool parse_element_words(const std::vector<std::string>& words, std::vector<MemberInput>* members,
                         std::string* error);

}  // namespace ztc
