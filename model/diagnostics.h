// Diagnostics are values: stages queue them and carry on, so a user sees
// every problem of a policy in one run. Rendering follows gcc/nft:
//   file:line:col: error: message
//       source line
//       ^
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "model/source.h"

namespace ztc {

enum class Severity { error, warning, note };

struct Diagnostic {
  Severity severity = Severity::error;
  Location location;
  std::string message;
};

class Diagnostics {
 public:
  void error(const Location& where, std::string message);
  void warning(const Location& where, std::string message);
  void note(const Location& where, std::string message);

  bool has_errors() const { return error_count_ > 0; }
  int error_count() const { return error_count_; }
  const std::vector<Diagnostic>& all() const { return items_; }
  void append(const Diagnostics& other);

  // Stop adding diagnostics past this many errors (hostile input can produce
  // one per byte); a final line says how many were dropped.
  static constexpr int kMaxErrors = 100;

  std::string render() const;

 private:
  std::vector<Diagnostic> items_;
  int error_count_ = 0;
  int dropped_ = 0;
  std::set<std::string> seen_;
};

// User text as a diagnostic shows it: valid UTF-8 as it is; each byte of
// invalid UTF-8, of a control character (C0, DEL, C1) and of a character that
// hides or reorders text (zero-width, bidi formatting, BOM) as \xNN. Tabs stay.
std::string printable_text(std::string_view text);

// One diagnostic in the rendered form above (with trailing newline).
std::string render(const Diagnostic& diagnostic);

}  // namespace ztc
