// Argument checks of the examples' command lines. CLI11's PositiveNumber / NonNegativeNumber
// answer "-1" or "abc" with "Value -1 not in range 0.000000 to 17976931348623157081452…" (the
// largest double written out in full); these say what was expected.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace cli_checks {

/// A number > 0, or ≥ 0 with `zero_allowed`.
inline CLI::Validator number_from_zero(bool zero_allowed) {
  return CLI::Validator(
      [zero_allowed](std::string& s) -> std::string {
        double v = 0;
        if (!CLI::detail::lexical_cast(s, v)) return "Value " + s + " is not a number";
        if (zero_allowed ? v >= 0 : v > 0) return {};
        return "Value " + s + (zero_allowed ? ", expected a number ≥ 0" : ", expected a number > 0");
      },
      zero_allowed ? ">= 0" : "> 0");  // ASCII: CLI11 aligns the help by bytes
}

inline const CLI::Validator positive = number_from_zero(false);
inline const CLI::Validator non_negative = number_from_zero(true);

}  // namespace cli_checks
