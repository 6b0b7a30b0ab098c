/* stage.h - `pgo-sandbox stage|pipeline|verify|inspect`: one PGO pipeline
 * stage run in the sandbox, packed into a byte-reproducible tarball with
 * provenance. */
#ifndef PGO_STAGE_H
#define PGO_STAGE_H

int stage_main(int argc, char **argv);    /* argv[0] == "stage" */
int pipeline_main(int argc, char **argv); /* argv[0] == "pipeline" */
int verify_main(int argc, char **argv);   /* argv[0] == "verify" */
int inspect_main(int argc, char **argv);  /* argv[0] == "inspect" */

#endif
