#include "CQuantSupport.h"

#include <string.h>

static _Thread_local char qf_error_message[1024];

const char *qf_last_error(void) { return qf_error_message; }

void qf_set_last_error(const char *message) {
    if (!message) { qf_error_message[0] = 0; return; }
    strncpy(qf_error_message, message, sizeof qf_error_message - 1);
    qf_error_message[sizeof qf_error_message - 1] = 0;
}
