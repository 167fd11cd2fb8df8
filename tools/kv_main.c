/*
 * kv_main.c: the kv command of every stage that adds nothing to it
 * (kv_ext.h says what stage 10 adds, and where).
 */
#include <stddef.h>

#include "kv_ext.h"

int main(int argc, char **argv)
{
    return kv_main(argc, argv, NULL);
}
