#include "testsupport/files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "backend/netns.h"

namespace ztc::testing {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

int line_of(const std::string& path, const std::string& needle) {
  std::istringstream lines(read_file(path));
  int number = 0;
  for (std::string line; std::getline(lines, line);) {
    ++number;
    if (line.find(needle) != std::string::npos) return number;
  }
  BOOST_FAIL("no line with " << needle << " in " << path);
  return 0;
}

TempDir::TempDir() {
  char pattern[] = "/tmp/ztc-test-XXXXXX";
  if (!mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
  chmod(path_.c_str(), 0755);
}

TempDir::~TempDir() { run_command("rm -rf " + shell_quote(path_)); }

std::string TempDir::write(const std::string& name, const std::string& text) const {
  std::string path = file(name);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  chmod(path.c_str(), 0644);
  return path;
}

std::string replaced_once(std::string text,
                          const std::vector<std::pair<std::string, std::string>>& swaps) {
  for (const auto& [from, to] : swaps) {
    size_t at = text.find(from);
    BOOST_REQUIRE_MESSAGE(at != std::string::npos, "not in the text: " << from);
    BOOST_REQUIRE_MESSAGE(text.find(from, at + 1) == std::string::npos, "twice: " << from);
    text.replace(at, from.size(), to);
  }
  return text;
}

}  // namespace ztc::testing
