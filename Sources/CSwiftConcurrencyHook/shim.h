#ifndef CSWIFTCONCURRENCYHOOK_SHIM_H
#define CSWIFTCONCURRENCYHOOK_SHIM_H

// The Swift concurrency runtime's hook for enqueueing jobs on the global executor
// (swift/Runtime/Concurrency.h). Declared here so that the linker resolves it whether the runtime
// is a shared library or linked in statically, where dlsym cannot see it.
extern void *_Nullable swift_task_enqueueGlobal_hook;

static inline void *_Nullable enqueue_global_hook(void) { return swift_task_enqueueGlobal_hook; }

/// Only before the first task is created: the runtime reads the hook without synchronisation.
static inline void set_enqueue_global_hook(void *_Nullable hook) { swift_task_enqueueGlobal_hook = hook; }

#endif
