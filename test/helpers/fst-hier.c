// Prints an FST file's hierarchy with the FST reader Verilator ships (gtkwave's fstapi): one line per
// scope ("scope <path>") and per variable ("var <path>.<name> <bits>"), then "end <start> <end>" (times).
// Built by test/helpers/fst.ts; tests use it to check kiln's waveforms without GTKWave.
#include <stdio.h>
#include <string.h>
#include "fstapi.h"

int main(int argc, char **argv) {
  if (argc != 2) { fprintf(stderr, "usage: fst-hier file.fst\n"); return 1; }
  void *ctx = fstReaderOpen(argv[1]);
  if (!ctx) { fprintf(stderr, "fst-hier: cannot read %s\n", argv[1]); return 1; }
  char path[4096] = "";
  struct fstHier *h;
  fstReaderIterateHierRewind(ctx);
  while ((h = fstReaderIterateHier(ctx))) {
    if (h->htyp == FST_HT_SCOPE) {
      if (path[0]) strncat(path, ".", sizeof path - strlen(path) - 1);
      strncat(path, h->u.scope.name, sizeof path - strlen(path) - 1);
      printf("scope %s\n", path);
    } else if (h->htyp == FST_HT_UPSCOPE) {
      char *dot = strrchr(path, '.');
      if (dot) *dot = 0; else path[0] = 0;
    } else if (h->htyp == FST_HT_VAR) {
      printf("var %s.%s %u\n", path, h->u.var.name, h->u.var.length);
    }
  }
  printf("end %llu %llu\n", (unsigned long long)fstReaderGetStartTime(ctx), (unsigned long long)fstReaderGetEndTime(ctx));
  fstReaderClose(ctx);
  return 0;
}
