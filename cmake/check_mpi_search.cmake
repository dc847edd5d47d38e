# xnas-search-mpi with one worker rank trains the same trials as xnas-search with one worker:
# same architectures, same validation accuracy and size, trial for trial (a trial's seed is its
# own, wherever it runs). Latency and seconds are measured, so they are not compared. Then a run
# on three ranks (two workers) must record every trial once and print the summary. Run by ctest:
#   cmake -DXNAS_SEARCH=... -DXNAS_SEARCH_MPI=... -DMPIEXEC=... -DOUT=<dir> -P check_mpi_search.cmake
foreach(var XNAS_SEARCH XNAS_SEARCH_MPI MPIEXEC OUT)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check_mpi_search.cmake needs -D${var}=...")
  endif()
endforeach()
file(REMOVE_RECURSE ${OUT})
set(args --space chain --strategy evolution --trials 4 --train-subset 300 --epochs 1
         --final-epochs 1 --final-limit 300 --seed 5)

execute_process(COMMAND ${XNAS_SEARCH} ${args} --workers 1 --out ${OUT}/serial
                RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "xnas-search failed (${rc}):\n${err}")
endif()
execute_process(COMMAND ${MPIEXEC} -n 2 ${XNAS_SEARCH_MPI} ${args} --out ${OUT}/ranks2
                RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_VARIABLE summary)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "mpiexec -n 2 xnas-search-mpi failed (${rc}):\n${err}")
endif()

# The columns that a trial's seed decides: id, architecture, status, val_accuracy, params, flops.
function(deterministic_columns csv out_var)
  # Architectures hold ';', CMake's list separator: it is swapped out before lines become a list.
  file(READ ${csv} text)
  string(REPLACE ";" "<semicolon>" text "${text}")
  string(REPLACE "\n" ";" lines "${text}")
  set(kept "")
  foreach(line IN LISTS lines)
    # The architecture is a quoted field with commas inside: split around it.
    if(NOT line MATCHES "^([0-9]+),(\"[^\"]*\"),([a-z_]+),[^,]*,([^,]*),[^,]*,([^,]*),([^,]*),([^,]*),")
      continue() # the header
    endif()
    list(APPEND kept "${CMAKE_MATCH_1} ${CMAKE_MATCH_2} ${CMAKE_MATCH_3} ${CMAKE_MATCH_5} ${CMAKE_MATCH_6} ${CMAKE_MATCH_7}")
  endforeach()
  set(${out_var} "${kept}" PARENT_SCOPE)
endfunction()
deterministic_columns(${OUT}/serial/trials.csv serial)
deterministic_columns(${OUT}/ranks2/trials.csv ranks2)
list(LENGTH serial n)
if(NOT n EQUAL 4)
  message(FATAL_ERROR "expected 4 trials in ${OUT}/serial/trials.csv, read ${n}")
endif()
if(NOT serial STREQUAL ranks2)
  string(REPLACE ";" "\n" serial "${serial}")
  string(REPLACE ";" "\n" ranks2 "${ranks2}")
  message(FATAL_ERROR "one worker rank trained other trials than one worker:\n"
                      "xnas-search --workers 1:\n${serial}\nmpiexec -n 2 xnas-search-mpi:\n${ranks2}")
endif()
if(NOT summary MATCHES "\"test_accuracy\"")
  message(FATAL_ERROR "no summary line from mpiexec -n 2 xnas-search-mpi:\n${summary}")
endif()

execute_process(COMMAND ${MPIEXEC} -n 3 ${XNAS_SEARCH_MPI} ${args} --out ${OUT}/ranks3
                RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_VARIABLE summary)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "mpiexec -n 3 xnas-search-mpi failed (${rc}):\n${err}")
endif()
if(NOT summary MATCHES "\"trials\":4,\"failed\":0,")
  message(FATAL_ERROR "mpiexec -n 3 xnas-search-mpi: expected 4 trials, none failed:\n${summary}")
endif()
deterministic_columns(${OUT}/ranks3/trials.csv ranks3)
list(LENGTH ranks3 n)
if(NOT n EQUAL 4)
  message(FATAL_ERROR "expected 4 trials in ${OUT}/ranks3/trials.csv, read ${n}")
endif()
message(STATUS "one worker rank matches one worker trial for trial; two worker ranks ran 4 trials")
