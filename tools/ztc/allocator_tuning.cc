#include "tools/ztc/allocator_tuning.h"

#include <malloc.h>

namespace ztc {

void tune_allocator_for_a_short_run() {
  // Each call only tunes: when one is refused (another allocator, as under
  // AddressSanitizer), the defaults stay and only speed differs.
  mallopt(M_ARENA_MAX, 1);
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
}

}  // namespace ztc
