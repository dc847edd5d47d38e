#pragma once
// A C and C++ locale whose decimal separator is a comma and whose digits are grouped with dots
// (de_DE), for the tests that what xnas writes and reads back does not depend on the locale the
// program runs in. glibc builds it with localedef from the sources of Debian's `locales` package
// (cmake/setup.sh installs it for the tests) into a directory that LOCPATH names.

#include <clocale>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <locale>
#include <stdexcept>
#include <string>
#include <unistd.h>

namespace xnas_test {

/// Sets the de_DE locale, C and C++ global, while it lives; then "C" and the classic locale.
/// Throws std::runtime_error saying what is missing when the locale cannot be built.
class comma_locale {
  public:
    comma_locale() {
        namespace fs = std::filesystem;
        dir_ = fs::temp_directory_path() / ("xnas-locale-" + std::to_string(::getpid()));
        fs::create_directories(dir_);
        const std::string command = "localedef -i de_DE -f UTF-8 '" +
                                    (dir_ / "de_DE.UTF-8").string() + "' > /dev/null 2>&1";
        if (std::system(command.c_str()) != 0)
            fail("localedef could not build de_DE.UTF-8 (install the Debian package locales)");
        ::setenv("LOCPATH", dir_.c_str(), 1);
        if (!std::setlocale(LC_ALL, "de_DE.UTF-8"))
            fail("setlocale refused de_DE.UTF-8");
        std::locale::global(std::locale("de_DE.UTF-8"));
        char text[16];
        std::snprintf(text, sizeof text, "%.1f", 0.5);
        if (std::string(text) != "0,5")
            fail("de_DE.UTF-8 prints 0.5 as " + std::string(text) + ", not 0,5");
    }
    comma_locale(const comma_locale&) = delete;
    comma_locale& operator=(const comma_locale&) = delete;
    ~comma_locale() { restore(); }

  private:
    std::filesystem::path dir_;

    void restore() {
        std::locale::global(std::locale::classic());
        std::setlocale(LC_ALL, "C");
        ::unsetenv("LOCPATH");
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    [[noreturn]] void fail(const std::string& why) {
        restore();
        throw std::runtime_error("xnas_test::comma_locale: " + why);
    }
};

} // namespace xnas_test
