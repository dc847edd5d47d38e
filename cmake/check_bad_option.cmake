# Runs a command-line tool once per bad value of one option and checks that each run is refused
# as a usage error: exit status 2, a message on stderr that names the option and the allowed
# range ("--trials: expected a whole number >= 1, not -3"), and no OUT, not even an empty
# directory. A check the tool lacks would let the run go on to its data; ARGS should point that
# at a missing directory, so such a run fails at once instead of training. Run by ctest:
#   cmake -DTOOL=<exe> -DOPTION=--trials -DVALUES=-3,0,abc -DOUT=<path> [-DOUT_OPTION=--out]
#         [-DARGS=a,b] [-DAFTER=c,d] [-DPOSITIONAL=ON] [-DCONFIG=<file>]
#         -P cmake/check_bad_option.cmake
# The command is TOOL ARGS OPTION VALUE AFTER OUT_OPTION OUT (VALUES, ARGS and AFTER are
# comma-separated: a semicolon would split the ctest command's argument). POSITIONAL: the value
# is an argument without an option, OPTION only the name the message gives it. An empty
# OUT_OPTION passes OUT only if AFTER names it. With CONFIG each value is written to that file
# as `key = value` (the option without its dashes) and the tool reads it with --config; the
# message must then name the file and the key.
foreach(var TOOL OPTION VALUES OUT)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check_bad_option.cmake needs -D${var}=...")
  endif()
endforeach()
if(NOT DEFINED OUT_OPTION)
  set(OUT_OPTION --out)
endif()
string(REPLACE "," ";" VALUES "${VALUES}")
string(REPLACE "," ";" ARGS "${ARGS}")
string(REPLACE "," ";" AFTER "${AFTER}")
set(out_args)
if(NOT OUT_OPTION STREQUAL "")
  set(out_args "${OUT_OPTION}" "${OUT}")
endif()
string(REGEX REPLACE "^--" "" key "${OPTION}")
string(REGEX REPLACE "([][+.*()^$?|\\\\])" "\\\\\\1" option_re "${OPTION}")
file(REMOVE_RECURSE "${OUT}")
foreach(value IN LISTS VALUES)
  if(DEFINED CONFIG)
    file(WRITE "${CONFIG}" "${key} = ${value}\n")
    set(given --config "${CONFIG}")
    get_filename_component(config_name "${CONFIG}" NAME)
    set(expected "${config_name}: ${key}: expected [a-z]")
  elseif(POSITIONAL)
    set(given "${value}")
    set(expected "${option_re}: expected [a-z]")
  else()
    set(given "${OPTION}" "${value}")
    set(expected "${option_re}: expected [a-z]")
  endif()
  # No input: a tool that reads architectures from stdin must not wait for them.
  execute_process(COMMAND "${TOOL}" ${ARGS} ${given} ${AFTER} ${out_args} RESULT_VARIABLE rc
                  INPUT_FILE /dev/null OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 2)
    message(FATAL_ERROR "${OPTION} ${value}: exit status ${rc}, expected 2\n${err}")
  endif()
  if(NOT err MATCHES "${expected}")
    message(FATAL_ERROR "${OPTION} ${value}: the message does not match '${expected}':\n${err}")
  endif()
  if(EXISTS "${OUT}")
    message(FATAL_ERROR "${OPTION} ${value}: ${OUT} was created")
  endif()
  message(STATUS "${OPTION} ${value}: ${err}")
endforeach()
