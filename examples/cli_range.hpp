#pragma once
// The command-line tools' check of a number against the range the library allows for it,
// made on the text as typed (xnas::experiment::text_error): CLI11 2.1 reads "-3" for an
// unsigned option as 2^64 - 3, and a NaN passes any comparison.

#include <CLI/CLI.hpp>
#include <string>
#include <xnas/experiment/options.hpp>

namespace xnas_cli {

/// A CLI11 validator refusing text outside `r`, with the error text_error gives.
inline CLI::Validator in_range(const xnas::experiment::value_range& r) {
    return CLI::Validator([r](std::string& text) { return xnas::experiment::text_error(text, r); },
                          xnas::experiment::describe(r));
}

} // namespace xnas_cli
