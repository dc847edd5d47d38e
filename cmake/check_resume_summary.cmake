# Resumes a finished xnas-search run and checks the summary line it prints: TRIALS trials, and a
# search_seconds that counts the seconds the journal had spent before the resume. --minutes
# budgets a resumed run that way; a summary that counted only the resumed process's seconds
# would report a 30-minute search killed at minute 29 as a one-minute one. Run by ctest:
#   cmake -DXNAS_SEARCH=<exe> -DOUT=<run dir> -DTRIALS=4 -P cmake/check_resume_summary.cmake
foreach(var XNAS_SEARCH OUT TRIALS)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check_resume_summary.cmake needs -D${var}=...")
  endif()
endforeach()
execute_process(COMMAND ${XNAS_SEARCH} --resume --trials ${TRIALS} --out ${OUT}
                RESULT_VARIABLE rc OUTPUT_VARIABLE summary ERROR_VARIABLE log)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "xnas-search --resume failed (${rc}):\n${log}")
endif()
string(JSON trials GET "${summary}" trials)
string(JSON search_seconds GET "${summary}" search_seconds)
if(NOT trials EQUAL TRIALS)
  message(FATAL_ERROR "the resumed run reports ${trials} trials, expected ${TRIALS}")
endif()
# Seconds as whole tenths, rounded down; CMake's math() knows integers only.
function(to_tenths value out)
  if(value MATCHES "[eE]-") # a tiny value in exponent notation
    set(${out} 0 PARENT_SCOPE)
  elseif(value MATCHES "^([0-9]+)(\\.([0-9]))?")
    set(tenth "${CMAKE_MATCH_3}")
    if(tenth STREQUAL "")
      set(tenth 0)
    endif()
    math(EXPR t "${CMAKE_MATCH_1} * 10 + ${tenth}")
    set(${out} ${t} PARENT_SCOPE)
  else()
    message(FATAL_ERROR "not a number of seconds: ${value}")
  endif()
endfunction()
# Every result record carries the search seconds at which it was recorded, counting the runs
# before the resume; the summary's search_seconds (rounded to 0.1 s) must reach the last of them.
file(STRINGS ${OUT}/journal.jsonl results REGEX "\"elapsed\":")
set(last 0)
foreach(line IN LISTS results)
  string(REGEX MATCH "\"elapsed\":([0-9.eE+-]+)" _ "${line}")
  to_tenths("${CMAKE_MATCH_1}" t)
  if(t GREATER last)
    set(last ${t})
  endif()
endforeach()
if(last EQUAL 0)
  message(FATAL_ERROR "${OUT}/journal.jsonl has no result record with \"elapsed\" above 0.1 s")
endif()
to_tenths("${search_seconds}" reported)
# One tenth of slack for the printed rounding.
math(EXPR reported_up "${reported} + 1")
if(reported_up LESS last)
  message(FATAL_ERROR "search_seconds ${search_seconds} is under the journal's last elapsed "
                      "(${last} tenths of a second): the seconds before the resume are not counted")
endif()
message(STATUS "trials ${trials}, search_seconds ${search_seconds}, journal's last elapsed ${last} tenths")
