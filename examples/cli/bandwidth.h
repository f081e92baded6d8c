// Memory read bandwidth probe for fathom bench: T threads stream-read one large buffer (much
// larger than the last-level cache), several passes, each timed on its own.
#ifndef FATHOM_EXAMPLES_CLI_BANDWIDTH_H_
#define FATHOM_EXAMPLES_CLI_BANDWIDTH_H_

#include <cstdint>
#include <string>
#include <vector>

namespace fathom::cli {

struct BandwidthResult {
  uint64_t buffer_bytes = 0;
  int threads = 0;
  std::vector<double> samples_gb_per_s;  // one per pass, 1e9 bytes per second
  std::string error;                     // not empty when the probe could not run
};

// The default buffer size: at least 1 GiB and at least 4x the L3 cache this machine reports.
uint64_t DefaultBandwidthBufferBytes();

// Allocates `bytes` (rounded down to a multiple of 4 KiB), writes it once (so every page is
// backed), then times `passes` reads of the whole buffer, split in `threads` contiguous slices.
// The buffer is on ordinary 4 KiB pages, as a memory-mapped model file is, unless `huge_pages`
// (then transparent huge pages are requested with madvise).
BandwidthResult MeasureReadBandwidth(int threads, uint64_t bytes, int passes, bool huge_pages);

}  // namespace fathom::cli

#endif  // FATHOM_EXAMPLES_CLI_BANDWIDTH_H_
