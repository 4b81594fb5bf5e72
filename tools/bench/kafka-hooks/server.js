// @platformatic/kafka-hooks (from npm, pinned by package-lock.json) as a real HTTP-to-Kafka peer of
// the ingress in `make bench`: POST /topics/<topic> publishes the body as one record.
// Usage: node server.js <port> <bootstrap host:port> <topic> <consumer group id>
//
// Configured as a production relay would run, and on the ingress' terms (docs/performance.md):
// * acks=all, as the ingress publishes. kafka-hooks has no producer settings, and
//   @platformatic/kafka's send() asks only the leader unless the producer is idempotent, so every
//   send gets acks=all here. Not idempotent: in that client it means one produce request in
//   flight per producer, and kafka-hooks sends one produce request per HTTP request.
// * logger at warn: no line per request (Fastify logs two per request at info).
//
// kafka-hooks also consumes every topic it publishes to and forwards each record to a URL. That
// is not HTTP-to-Kafka work, so its consumer is throttled out of the measurement: a fetch waits
// for more bytes than it will ever see (minBytes) for 50 s, and takes one batch at most.
import { ProduceAcks, Producer } from '@platformatic/kafka'
import { create } from '@platformatic/kafka-hooks'

const [port, bootstrap, topic, groupId] = process.argv.slice(2)

const send = Producer.prototype.send
Producer.prototype.send = function (options, callback) {
  options.acks ??= ProduceAcks.ALL
  return send.call(this, options, callback)
}

const config = {
  server: { hostname: '127.0.0.1', port: Number(port), logger: { level: 'warn' } },
  kafka: {
    brokers: [bootstrap],
    topics: [{ topic, url: `http://127.0.0.1:${port}/forwarded`, dlq: false, retries: 1 }],
    consumer: {
      groupId,
      minBytes: 2 ** 31 - 1,
      maxWaitTime: 50_000,
      maxBytes: 1,
      maxBytesPerPartition: 1,
      timeout: 60_000
    },
    concurrency: 1
  }
}

const app = await create(import.meta.dirname, config)
await app.start({ listen: true })
console.log(`kafka-hooks listening on 127.0.0.1:${port}, publishing to ${topic} with acks=all`)

process.on('SIGTERM', async () => {
  await app.stop()
  process.exit(0)
})
