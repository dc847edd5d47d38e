#pragma once
// Exception types xnas throws where callers may want to catch selectively. Messages name the
// function, the bad value, the expected one, and the file, field or offset.

#include <stdexcept>
#include <string>

namespace xnas {

/// A tensor or architecture has the wrong shape for the operation.
struct shape_error : std::invalid_argument {
    using std::invalid_argument::invalid_argument;
};

/// Text (an architecture string, a journal line, a CSV cell, an option) does not parse.
struct parse_error : std::invalid_argument {
    using std::invalid_argument::invalid_argument;
};

/// A file is missing, unreadable, truncated, or not the format it claims to be.
struct file_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// Training produced a non-finite loss or a candidate exceeded a resource limit.
struct numerical_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

} // namespace xnas
