#include "CShims.h"

#include <errno.h>
#include <sys/prctl.h>

int cshims_set_timer_slack(unsigned long nanoseconds) {
    if (nanoseconds == 0) return EINVAL;  // 0 would mean "back to the default slack"
    return prctl(PR_SET_TIMERSLACK, nanoseconds, 0, 0, 0) == 0 ? 0 : errno;
}
