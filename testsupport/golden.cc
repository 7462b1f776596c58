#include "testsupport/golden.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "testsupport/files.h"

namespace ztc::testing {

std::string source_path(const std::string& relative) {
  return std::string(ZTC_SOURCE_DIR) + "/" + relative;
}

namespace {
void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}
}  // namespace

std::string compare_golden(const std::string& relative_path, const std::string& actual) {
  std::string path = source_path(relative_path);
  std::string got = path + ".got";
  const char* regen = std::getenv("ZTC_REGEN");
  if (regen != nullptr && std::string(regen) == "1") {
    write_file(path, actual);
    std::remove(got.c_str());
    return {};
  }
  std::ifstream probe(path);
  if (!probe) {
    write_file(got, actual);
    return relative_path + " does not exist; wrote " + relative_path +
           ".got (review it, then rename it or run with ZTC_REGEN=1)";
  }
  if (read_file(path) == actual) {
    std::remove(got.c_str());
    return {};
  }
  write_file(got, actual);
  return relative_path + " differs: diff " + relative_path + " " + relative_path + ".got";
}

}  // namespace ztc::testing
