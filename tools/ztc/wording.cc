#include "tools/ztc/wording.h"

namespace ztc {

std::string plural(size_t count, const char* one, const char* many) {
  return std::to_string(count) + " " + (count == 1 ? one : many);
}

}  // namespace ztc
