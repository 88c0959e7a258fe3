#ifndef CRDKAFKA_SHIM_H
#define CRDKAFKA_SHIM_H

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

/* Swift cannot call the variadic rd_kafka_producev, and rd_kafka_vu_t holds an anonymous
 * union; this builds the argument array for the non-variadic rd_kafka_produceva.
 * On success librdkafka owns `headers`; on failure the caller still does. */
static inline rd_kafka_error_t *crdkafka_produce(rd_kafka_t *rk, rd_kafka_topic_t *rkt, int32_t partition,
                                                 const void *key, size_t key_len, const void *value,
                                                 size_t value_len, rd_kafka_headers_t *headers,
                                                 void *msg_opaque) {
    rd_kafka_vu_t vus[7];
    size_t count = 0;
    vus[count].vtype = RD_KAFKA_VTYPE_RKT;
    vus[count++].u.rkt = rkt;
    vus[count].vtype = RD_KAFKA_VTYPE_PARTITION;
    vus[count++].u.i32 = partition;
    vus[count].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vus[count++].u.i = RD_KAFKA_MSG_F_COPY;
    vus[count].vtype = RD_KAFKA_VTYPE_VALUE;
    vus[count].u.mem.ptr = (void *)value;
    vus[count++].u.mem.size = value_len;
    if (key != NULL) {
        vus[count].vtype = RD_KAFKA_VTYPE_KEY;
        vus[count].u.mem.ptr = (void *)key;
        vus[count++].u.mem.size = key_len;
    }
    if (headers != NULL) {
        vus[count].vtype = RD_KAFKA_VTYPE_HEADERS;
        vus[count++].u.headers = headers;
    }
    vus[count].vtype = RD_KAFKA_VTYPE_OPAQUE;
    vus[count++].u.ptr = msg_opaque;
    return rd_kafka_produceva(rk, vus, count);
}

#endif
