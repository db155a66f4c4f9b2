// Writes the Prometheus text exposition format (version 0.0.4): for each metric family a
// `# HELP` and a `# TYPE` line, then its samples, with label values escaped. See docs/METRICS.md.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace codeswarm::router {

using MetricLabels = std::vector<std::pair<std::string_view, std::string>>;

class PrometheusText {
 public:
  // Starts a family. `type`: "counter", "gauge" or "histogram". REQUIRES: `name` and label names
  // are valid Prometheus names (they are constants of this program), each family started once.
  void Family(std::string_view name, std::string_view type, std::string_view help);
  // One sample of the current family (for histograms, `name` carries the _bucket/_sum/_count
  // suffix).
  void Sample(std::string_view name, const MetricLabels& labels, double value);
  void Sample(std::string_view name, double value) { Sample(name, {}, value); }
  const std::string& text() const { return text_; }

  // `value` as a label value: backslash, double quote and newline escaped.
  static std::string EscapeLabelValue(std::string_view value);
  // A sample value: integers without a fraction, "+Inf", "NaN".
  static std::string FormatValue(double value);

 private:
  std::string text_;
};

}  // namespace codeswarm::router
