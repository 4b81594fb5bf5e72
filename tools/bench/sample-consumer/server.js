// Adobe's sample consumer (adobe/activity-stream-consumer-example) reduced to its essence for the
// benchmark: express parses each POST body as JSON and appends it to a log file; GET answers 200.
// Usage: node server.js <port> <log file>. Listens on 127.0.0.1 only.
const fs = require('node:fs')
const express = require('express')

const port = Number(process.argv[2] || 3000)
const logFile = process.argv[3] || 'combined.log'
const log = fs.createWriteStream(logFile, { flags: 'a' })

// The seed sample keeps express.json()'s 100 kB default, which refuses a 500-activity push;
// the limit is raised so the comparison measures throughput, not a refusal.
const app = express().use(express.json({ limit: '10mb' }))

app.get('/', (req, res) => {
  log.write(JSON.stringify(req.query) + '\n')
  if (req.query.challenge) {
    res.type('text/plain').send(String(req.query.challenge))
    return
  }
  res.sendStatus(200)
})

app.post('/', (req, res) => {
  log.write(JSON.stringify(req.body) + '\n')
  res.sendStatus(200)
})

const server = app.listen(port, '127.0.0.1', () => {
  console.log(`sample consumer listening on 127.0.0.1:${server.address().port}`)
})
server.keepAliveTimeout = 75000

process.on('SIGTERM', () => server.close(() => log.end(() => process.exit(0))))
