// Summary statistics of repeated measurements (fathom bench): median, min, max, mean, stddev.
#ifndef FATHOM_EXAMPLES_CLI_BENCH_STATS_H_
#define FATHOM_EXAMPLES_CLI_BENCH_STATS_H_

#include <vector>

namespace fathom::cli {

struct Summary {
  int n = 0;
  double median = 0;  // of an even count: the mean of the two middle values
  double min = 0;
  double max = 0;
  double mean = 0;
  double stddev = 0;  // sample standard deviation (n - 1); 0 for fewer than two values
};

// All zero for an empty list.
Summary Summarize(const std::vector<double>& samples);

}  // namespace fathom::cli

#endif  // FATHOM_EXAMPLES_CLI_BENCH_STATS_H_
