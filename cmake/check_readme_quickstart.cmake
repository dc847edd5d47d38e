# The README's first search is examples/quickstart.cpp whole: CI compiles and runs the file, so
# the README cannot drift into code that does not build or throws (it once asked evolution for
# tournaments of 10 out of a population of 8). Run by ctest:
#   cmake -DSOURCE_DIR=<repo> -P cmake/check_readme_quickstart.cmake
if(NOT DEFINED SOURCE_DIR)
  message(FATAL_ERROR "check_readme_quickstart.cmake needs -DSOURCE_DIR=...")
endif()
file(READ ${SOURCE_DIR}/README.md readme)
file(READ ${SOURCE_DIR}/examples/quickstart.cpp source)
# The file from its first #include on: the header comment is the file's, not the README's.
string(FIND "${source}" "#include" start)
string(SUBSTRING "${source}" ${start} -1 code)
string(FIND "${readme}" "```cpp\n${code}```" at)
if(at EQUAL -1)
  message(FATAL_ERROR "README.md's first search is not examples/quickstart.cpp from its first "
                      "#include on; copy the file into the README's ```cpp block")
endif()
message(STATUS "README.md shows examples/quickstart.cpp")
