# A must-not-compile test, after {fmt}'s compile-error tests: compiles SOURCE with -fsyntax-only
# and checks that an extension concept rejects a type missing a member, with a diagnostic that
# names the concept. Run by ctest, twice per snippet:
#   cmake -DCXX=<compiler> -DSOURCE=<snippet.cpp> -DCONCEPT=<name> -DEXPECT=error|compiles
#         -DINCLUDE=<repo>/include [-DDEFINES=A;B] -P cmake/check_compile_error.cmake
# EXPECT=error: the compiler must fail, and name CONCEPT as the constraint that was not
# satisfied (GCC: "required for the satisfaction of 'CONCEPT<...>'" or "required by the
# constraints of '... concept CONCEPT'"; Clang: "does not satisfy 'CONCEPT'" or "because
# 'CONCEPT<...>' evaluated to false"), not merely echo the snippet's source. EXPECT=compiles is the snippet's positive control: with -DXNAS_COMPLETE
# the missing member is there and the snippet must compile, so a typo in it cannot pass as a
# rejection.
foreach(var CXX SOURCE CONCEPT EXPECT INCLUDE)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check_compile_error.cmake needs -D${var}=...")
  endif()
endforeach()
set(flags -std=c++20 -fsyntax-only -I${INCLUDE})
foreach(d IN LISTS DEFINES)
  list(APPEND flags -D${d})
endforeach()
if(EXPECT STREQUAL "compiles")
  list(APPEND flags -DXNAS_COMPLETE)
endif()
# Plain quotes in GCC's diagnostics.
set(ENV{LC_ALL} C)
execute_process(COMMAND ${CXX} ${flags} ${SOURCE} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                ERROR_VARIABLE err)
set(output "${out}${err}")
if(EXPECT STREQUAL "compiles")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${SOURCE} with -DXNAS_COMPLETE does not compile:\n${output}")
  endif()
  message(STATUS "${SOURCE} compiles with the member")
  return()
endif()
if(rc EQUAL 0)
  message(FATAL_ERROR "${SOURCE} compiles, but ${CONCEPT} should have rejected it")
endif()
# The concept's name, possibly qualified, right after the diagnostic's opening quote ([^ a-z_]*
# skips a quote of any encoding, so `selector` does not match `deterministic_selector`).
set(q "[^ a-z_]*(xnas::)?(nn::)?")
set(named "satisfaction of ${q}${CONCEPT}<|constraints of [^\n]*concept ${q}${CONCEPT}[^a-z_]")
string(APPEND named "|does not satisfy ${q}${CONCEPT}[^a-z_]|because ${q}${CONCEPT}<[^\n]*evaluated to false")
if(NOT output MATCHES "${named}")
  message(FATAL_ERROR "${SOURCE} is rejected, but the diagnostic does not name ${CONCEPT}:\n${output}")
endif()
message(STATUS "${SOURCE} is rejected by ${CONCEPT}: ${CMAKE_MATCH_0}")
