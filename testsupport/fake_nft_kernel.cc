#include "testsupport/fake_nft_kernel.h"

#include <algorithm>
#include <utility>

namespace ztc::nft {

ApplyResult FakeNftKernel::run(const std::string& buffer, bool dry_run) {
  calls.push_back({buffer, dry_run});
  bool fail = fail_every_;
  if (fail_countdown_ > 0 && --fail_countdown_ == 0) fail = true;
  ApplyResult result;
  if (fail) {
    result.error = fail_text_;
    return result;
  }
  if (!dry_run) committed.push_back(buffer);
  result.success = true;
  return result;
}

std::optional<std::string> FakeNftKernel::list_table(Family family, const std::string& name,
                                                     bool json) {
  const auto& tables = json ? tables_json : tables_text;
  auto found = tables.find(table_spec(family, name));
  if (found == tables.end()) return std::nullopt;
  return found->second;
}

std::vector<Element> FakeNftKernel::list_set_elements(Family family, const std::string& table,
                                                      const std::string& set) {
  auto found = set_elements.find(object_spec(family, table, set));
  if (found == set_elements.end()) return {};
  return found->second;
}

void FakeNftKernel::fail_call(int nth, std::string error_text) {
  fail_countdown_ = nth;
  fail_text_ = std::move(error_text);
}

void FakeNftKernel::fail_always(std::string error_text) {
  fail_every_ = true;
  fail_text_ = std::move(error_text);
}

// ---------------------------------------------------------------------------
// FakeSetKernel

namespace {

// `add element ip t s { 10.0.0.1 comment "x", 10.0.0.2 }`, one command per line.
struct ElementCommand {
  bool add = false;
  std::string key;  // "ip t s"
  std::vector<Element> elements;
};

// Words, commas and braces; a double-quoted string is one word, quotes kept.
std::vector<std::string> tokens(const std::string& line) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < line.size()) {
    char c = line[at];
    if (c == ' ' || c == '\t') {
      ++at;
    } else if (c == ',' || c == '{' || c == '}') {
      out.emplace_back(1, c);
      ++at;
    } else if (c == '"') {
      size_t end = line.find('"', at + 1);
      if (end == std::string::npos) end = line.size() - 1;
      out.push_back(line.substr(at, end - at + 1));
      at = end + 1;
    } else {
      size_t end = line.find_first_of(" \t,{}\"", at);
      if (end == std::string::npos) end = line.size();
      out.push_back(line.substr(at, end - at));
      at = end;
    }
  }
  return out;
}

std::optional<ElementCommand> parse_element_command(const std::string& line) {
  std::vector<std::string> words = tokens(line);
  if (words.size() < 7 || (words[0] != "add" && words[0] != "delete") || words[1] != "element" ||
      words[5] != "{" || words.back() != "}") {
    return std::nullopt;
  }
  ElementCommand command;
  command.add = words[0] == "add";
  command.key = words[2] + " " + words[3] + " " + words[4];
  for (size_t i = 6; i + 1 < words.size();) {
    Element element;
    element.value = words[i++];
    if (i + 1 < words.size() && words[i] == "comment") {
      std::string quoted = words[i + 1];
      if (quoted.size() >= 2 && quoted.front() == '"')
        element.comment = quoted.substr(1, quoted.size() - 2);
      i += 2;
    }
    command.elements.push_back(std::move(element));
    if (i + 1 < words.size() && words[i] == ",") ++i;
  }
  return command;
}

}  // namespace

ApplyResult FakeSetKernel::run(const std::string& buffer, bool dry_run) {
  ApplyResult result = FakeNftKernel::run(buffer, dry_run);
  if (!result.success) return result;
  // Apply every element command to a copy: a buffer is one transaction.
  std::map<std::string, FakeSet> after = sets_;
  bool touched = false;
  size_t begin = 0;
  while (begin < buffer.size()) {
    size_t end = buffer.find('\n', begin);
    if (end == std::string::npos) end = buffer.size();
    std::string line = buffer.substr(begin, end - begin);
    begin = end + 1;
    std::optional<ElementCommand> command = parse_element_command(line);
    if (!command) continue;
    auto set = after.find(command->key);
    auto fail = [&](const std::string& why) {
      if (!dry_run) committed.pop_back();
      ApplyResult failed;
      failed.error = "Error: Could not process rule: " + why + "\n" + line + "\n";
      return failed;
    };
    if (set == after.end()) return fail("No such file or directory");
    touched = true;
    std::vector<Element>& members = set->second.members;
    for (const Element& element : command->elements) {
      auto at = std::find_if(members.begin(), members.end(),
                             [&](const Element& e) { return e.value == element.value; });
      if (command->add) {
        if (at == members.end()) members.push_back(element);
      } else {
        if (at == members.end()) return fail("No such file or directory");
        members.erase(at);
      }
    }
  }
  if (!dry_run && touched) {
    sets_ = std::move(after);
    ++element_writes;
  }
  return result;
}

std::vector<Element> FakeSetKernel::list_set_elements(Family family, const std::string& table,
                                                      const std::string& set) {
  const FakeSet* found = this->set(family, table, set);
  return found ? found->members : std::vector<Element>{};
}

ReadError FakeSetKernel::describe(Family family, const std::string& table, const std::string& set,
                                  SetDescription* out) {
  if (read_error) return read_error;
  *out = SetDescription{};
  auto found_table = tables_.find(table_spec(family, table));
  if (found_table == tables_.end()) return std::nullopt;
  out->table_exists = true;
  out->table_comment = found_table->second;
  if (const FakeSet* found = this->set(family, table, set)) {
    out->set_exists = true;
    out->type = found->type;
    out->set_comment = found->comment;
  }
  return std::nullopt;
}

ReadError FakeSetKernel::find(Family family, const std::string& table, const std::string& set,
                              const std::vector<std::string>& values,
                              std::vector<std::optional<Element>>* found) {
  if (read_error) return read_error;
  const FakeSet* fake = this->set(family, table, set);
  if (!fake) return std::string("no such set");
  found->assign(values.size(), std::nullopt);
  for (size_t i = 0; i < values.size(); ++i) {
    ++finds;
    for (const Element& member : fake->members) {
      if (member.value == values[i]) (*found)[i] = member;
    }
  }
  return std::nullopt;
}

ReadError FakeSetKernel::list(Family family, const std::string& table, const std::string& set,
                              std::vector<Element>* members) {
  if (read_error) return read_error;
  const FakeSet* fake = this->set(family, table, set);
  if (!fake) return std::string("no such set");
  ++lists;
  members->insert(members->end(), fake->members.begin(), fake->members.end());
  return std::nullopt;
}

void FakeSetKernel::add_table(Family family, const std::string& table, std::string comment) {
  tables_[table_spec(family, table)] = std::move(comment);
}

FakeSetKernel::FakeSet& FakeSetKernel::add_set(Family family, const std::string& table,
                                               const std::string& set, std::string type) {
  FakeSet& fake = sets_[object_spec(family, table, set)];
  fake.type = std::move(type);
  return fake;
}

const FakeSetKernel::FakeSet* FakeSetKernel::set(Family family, const std::string& table,
                                                 const std::string& set) const {
  auto found = sets_.find(object_spec(family, table, set));
  return found == sets_.end() ? nullptr : &found->second;
}

}  // namespace ztc::nft
