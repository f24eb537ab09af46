// A real Bluesky network on loopback for hashcart's tests: a PLC directory and a PDS
// (@atproto/dev-env's TestNetworkNoAppView), driven over stdin/stdout.
//
//   node net.mjs [PDS_PORT] [PLC_PORT]      (0 or nothing: free ports)
//
// Once up it prints one line: {"ready":true,"pds":URL,"pds_port":N,"plc":URL,"plc_port":N}.
// Then each stdin line is a JSON command {"id":…,"cmd":…,…} and gets exactly one stdout
// line {"id":…,"ok":true,…} or {"id":…,"ok":false,"error":…}. Commands:
//   create_account {handle, password}             -> {did, handle}
//   app_password   {as, name}                     -> {password}
//   post           {as, text, facets?, reply?, rkey?, createdAt?}  -> {uri, cid}
//   put_record     {as, rkey, record}             -> {uri, cid}   (an edit: a new CID)
//   delete_record  {as, rkey}                     -> {}
//   get_record     {uri}                          -> {uri, cid, value}
//   list_records   {repo, collection?}            -> {records: [{uri, cid, value}]}
//   seq            {}                             -> {seq}  (the latest firehose seq, once streamed)
//   close          {}                             -> {} and the process exits
// `as` names an account made by create_account (its handle). Nothing else is written to
// stdout (the PDS logs nothing unless LOG_ENABLED is set), so every line is an answer.
import nodeNet from 'node:net'
import readline from 'node:readline'

// Loopback only: dev-env's servers listen on every interface when given just a port, and
// hashcart's tests never open anything beyond 127.0.0.1.
const listen = nodeNet.Server.prototype.listen
nodeNet.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number' && typeof args[1] !== 'string') {
    return listen.call(this, args[0], '127.0.0.1', ...args.slice(1))
  }
  if (args[0] && typeof args[0] === 'object' && !args[0].host && !args[0].path) {
    args[0] = { ...args[0], host: '127.0.0.1' }
  }
  return listen.apply(this, args)
}

const { TestNetworkNoAppView } = await import('@atproto/dev-env')

const POST = 'app.bsky.feed.post'
const [pdsPort, plcPort] = process.argv.slice(2).map((value) => Number(value) || 0)

const net = await TestNetworkNoAppView.create({
  pds: pdsPort ? { port: pdsPort } : {},
  plc: plcPort ? { port: plcPort } : {},
})
const agents = new Map() // handle -> logged-in AtpAgent

const answer = (value) => process.stdout.write(JSON.stringify(value) + '\n')

function agentOf(handle) {
  const agent = agents.get(handle)
  if (!agent) throw new Error(`no account ${handle} (create_account first)`)
  return agent
}

function parseUri(uri) {
  const match = /^at:\/\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(uri ?? '')
  if (!match) throw new Error(`not an AT-URI: ${uri}`)
  return { repo: match[1], collection: match[2], rkey: match[3] }
}

const commands = {
  async create_account({ handle, password }) {
    const agent = net.pds.getAgent()
    const email = `${handle.replace(/[^a-z0-9]/gi, '-')}@example.test`
    const { data } = await agent.createAccount({ handle, email, password })
    agents.set(handle, agent)
    return { did: data.did, handle: data.handle }
  },
  async app_password({ as, name }) {
    const { data } = await agentOf(as).com.atproto.server.createAppPassword({ name })
    return { password: data.password }
  },
  async post({ as, text, facets, reply, rkey, createdAt }) {
    const agent = agentOf(as)
    const record = { $type: POST, text, createdAt: createdAt ?? new Date().toISOString() }
    if (facets) record.facets = facets
    if (reply) record.reply = reply
    const { data } = await agent.com.atproto.repo.createRecord({
      repo: agent.session.did,
      collection: POST,
      record,
      ...(rkey ? { rkey } : {}),
    })
    return { uri: data.uri, cid: data.cid }
  },
  async put_record({ as, rkey, record }) {
    const agent = agentOf(as)
    const { data } = await agent.com.atproto.repo.putRecord({
      repo: agent.session.did,
      collection: POST,
      rkey,
      record: { $type: POST, ...record },
    })
    return { uri: data.uri, cid: data.cid }
  },
  async delete_record({ as, rkey }) {
    const agent = agentOf(as)
    await agent.com.atproto.repo.deleteRecord({ repo: agent.session.did, collection: POST, rkey })
    return {}
  },
  async get_record({ uri }) {
    const { data } = await net.pds.getAgent().com.atproto.repo.getRecord(parseUri(uri))
    return { uri: data.uri, cid: data.cid, value: data.value }
  },
  async list_records({ repo, collection }) {
    const { data } = await net.pds.getAgent().com.atproto.repo.listRecords({
      repo,
      collection: collection ?? POST,
      limit: 100,
    })
    return { records: data.records }
  },
  async seq() {
    // The PDS streams new events to live subscribers when its sequencer polls them (up to
    // a second later); a subscriber that connects before that may also get events at or
    // before its cursor. So the answer waits until everything sequenced was streamed.
    const sequencer = net.pds.ctx.sequencer
    const seq = (await sequencer.curr()) ?? 0
    const deadline = Date.now() + 10_000
    while (sequencer.lastSeen < seq && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    return { seq }
  },
  async close() {
    return {}
  },
}

answer({
  ready: true,
  pds: net.pds.url,
  pds_port: net.pds.port,
  plc: net.plc.url,
  plc_port: net.plc.port,
})

const lines = readline.createInterface({ input: process.stdin })

for await (const line of lines) {
  if (!line.trim()) continue
  let request
  try {
    request = JSON.parse(line)
  } catch (error) {
    answer({ id: null, ok: false, error: `not JSON: ${error.message}` })
    continue
  }
  const command = commands[request.cmd]
  try {
    if (!command) throw new Error(`unknown command ${request.cmd}`)
    answer({ id: request.id, ok: true, ...(await command(request)) })
  } catch (error) {
    answer({ id: request.id, ok: false, error: error.error ?? error.name, message: error.message })
  }
  if (request.cmd === 'close') {

    break
  }
}
// stdin closed (the test process went away) or "close": stop the servers and exit.
await net.close().catch(() => {})
process.exit(0)
