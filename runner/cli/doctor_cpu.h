/* doctor_cpu.h - doctor's checks of the CPUs (turbo, governor, perf
 * counters, ASLR, SMT): each adds its check to checks and its facts. */
#ifndef PGO_DOCTOR_CPU_H
#define PGO_DOCTOR_CPU_H

#include <jansson.h>

void doctor_check_turbo(json_t *checks, json_t *facts, const char *root);
void doctor_check_governor(json_t *checks, json_t *facts, const char *root);
void doctor_check_perf(json_t *checks, json_t *facts, const char *proc_root);
void doctor_check_aslr(json_t *checks, json_t *facts, const char *proc_root);
void doctor_check_smt(json_t *checks, json_t *facts, const char *root);

#endif
