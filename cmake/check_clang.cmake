# Parses every .cpp of one directory with a second compiler (clang++), warnings on, and fails on
# any diagnostic. The build itself uses one compiler; headers are instantiated by every user's
# compiler, and C++20 features differ between them (clang 14 cannot capture a structured binding
# in a lambda; g++ 12 can). Run by ctest as "clang: <dir> parses cleanly":
#   cmake -DCLANGXX=/usr/bin/clang++-14 -DSOURCE_DIR=<repo> -DDIR=tests/strategy
#         [-DDEFINES=A;B] [-DINCLUDES=dir;dir] -P cmake/check_clang.cmake
# -fsyntax-only instantiates every template the file uses but generates no code, so it costs a
# fraction of a build.
foreach(var CLANGXX SOURCE_DIR DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check_clang.cmake needs -D${var}=...")
  endif()
endforeach()
file(GLOB sources ${SOURCE_DIR}/${DIR}/*.cpp)
if(NOT sources)
  message(FATAL_ERROR "no .cpp files in ${SOURCE_DIR}/${DIR}")
endif()
set(flags -std=c++20 -fsyntax-only -Wall -Wextra -Wpedantic -I${SOURCE_DIR}/include -I${SOURCE_DIR}/tests)
foreach(d IN LISTS DEFINES)
  list(APPEND flags -D${d})
endforeach()
# A dependency's own headers (mpi.h) are not ours to keep warning-free.
foreach(i IN LISTS INCLUDES)
  list(APPEND flags -isystem ${i})
endforeach()
# Catch2, xtensor, xsimd and the standard library were most of each file's parse time, and they
# are not ours to check: they go into a precompiled header, built once per directory, that each
# file includes first (what a file forgets to include is the g++ build's to find). -DPCH=OFF
# parses without it (tests/mpi, whose file configures Catch2 before including it).
set(pch_flags "")
if(NOT DEFINED PCH OR PCH)
  string(MAKE_C_IDENTIFIER "${DIR}" id)
  set(pch_header "${CMAKE_CURRENT_BINARY_DIR}/clang-pch/${id}.hpp")
  file(WRITE "${pch_header}" "")
  foreach(h catch2/catch.hpp xtensor/xarray.hpp xtensor/xtensor.hpp xsimd/xsimd.hpp algorithm
            chrono filesystem fstream functional iostream map memory random set sstream string
            vector)
    file(APPEND "${pch_header}" "#include <${h}>\n")
  endforeach()
  set(pch_build_flags ${flags})
  list(REMOVE_ITEM pch_build_flags -fsyntax-only)
  execute_process(COMMAND ${CLANGXX} ${pch_build_flags} -x c++-header "${pch_header}"
                          -o "${pch_header}.pch" RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${CLANGXX} cannot precompile ${pch_header}:\n${out}${err}")
  endif()
  set(pch_flags -include-pch "${pch_header}.pch")
endif()
set(failed "")
foreach(src IN LISTS sources)
  execute_process(COMMAND ${CLANGXX} ${flags} ${pch_flags} ${src} RESULT_VARIABLE rc
                  OUTPUT_VARIABLE out ERROR_VARIABLE err)
  # A warning is a failure too: the code is meant to be warning-free under both compilers.
  if(NOT rc EQUAL 0 OR NOT "${out}${err}" STREQUAL "")
    string(APPEND failed "${out}${err}")
  endif()
endforeach()
list(LENGTH sources n)
if(failed)
  message(FATAL_ERROR "${CLANGXX} rejects or warns on files in ${DIR}:\n${failed}")
endif()
message(STATUS "${n} files in ${DIR} parse cleanly under ${CLANGXX}")
