/* image.h - root filesystem images: `pgo-sandbox image build|digest` and
 * the digest of an image (host, directory or tarball) for provenance. */
#ifndef PGO_IMAGE_H
#define PGO_IMAGE_H

int image_main(int argc, char **argv); /* argv[0] == "image" */

#endif
