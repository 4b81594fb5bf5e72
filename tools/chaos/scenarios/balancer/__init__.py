"""Behind a real load balancer: HAProxy with the shipped ``deploy/haproxy/haproxy.cfg`` in front
of three ingress replicas on one broker, the simulator sending all three streams through it
(direct push and Adobe I/O, with their retry rules), both workers consuming (``fleet.py``).

* ``rolling``: SIGTERM each replica in turn, as a rollout does, waiting until the balancer has
  it back; only 2xx or retried 503s may reach the upstream.
* ``replica_kill``: SIGKILL one replica; the balancer marks it down within its checks, the cut
  deliveries are retried by the upstream and land once downstream.
* ``replica_stuck``: SIGSTOP one replica past the balancer's 9 s server timeout, then SIGCONT.
* ``broker_restart``: the broker behind every replica stops and starts again; every /readyz
  and so the balancer answer 503 (never slower than Adobe's 10 s), then all recover.
"""
