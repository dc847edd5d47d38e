#pragma once
// The library version, as numbers for preprocessor checks and as a string for files xnas writes.

#define XNAS_VERSION_MAJOR 0
#define XNAS_VERSION_MINOR 1
#define XNAS_VERSION_PATCH 0

namespace xnas {
inline constexpr const char* version_string = "0.1.0";
} // namespace xnas
