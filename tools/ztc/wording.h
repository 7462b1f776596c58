// Counts as a reader says them: "1 route", "2 routes", "0 changes".
#pragma once

#include <cstddef>
#include <string>

namespace ztc {

std::string plural(size_t count, const char* one, const char* many);

}  // namespace ztc
