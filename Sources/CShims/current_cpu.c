#define _GNU_SOURCE
#include <sched.h>

#include "CShims.h"

int cshims_current_cpu(void) { return sched_getcpu(); }
