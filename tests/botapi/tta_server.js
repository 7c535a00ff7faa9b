// Start telegram-test-api (the npm package pinned in /package-lock.json) on 127.0.0.1 for the
// Python tests (tests/botapi/tta.py).
//
//   node tests/botapi/tta_server.js [port] [storeTimeoutSeconds]
//
// Port 0 (the default) asks the OS for a free port. Prints one line "ready <port>" once the
// server listens, and stops on SIGTERM/SIGINT or when stdin closes, so the server never
// outlives the pytest process that started it.
//
// telegram-test-api 4.2.1 speaks a Bot API that python-telegram-bot 22 cannot parse in a few
// places. The shims below fix the wire format only; the emulator's own state (message store,
// ids, update queue, edits, deletes) is untouched, which is what keeps it an independent check
// of the home-made emulator. Each shim names the PTB failure it avoids:
//
//   1. getMe has no `is_bot`           -> PTB: "User.__init__() missing ... 'is_bot'" (initialize fails)
//   2. sendMessage answers `date` in milliseconds -> PTB: "year 58866 is out of range";
//      the answer also lacks `from` and says chat type "private" for every chat
//   3. editMessageText / editMessageReplyMarkup answer `result: null`
//                                      -> PTB: "'NoneType' object has no attribute 'copy'";
//      we answer the edited message (as Telegram does), or `true` when it is not stored
//   4. callback queries have no `chat_instance` -> PTB cannot parse the update at all
//   5. getUpdates ignores `timeout` (answers at once) -> PTB's updater would spin;
//      we hold an empty answer until a user update arrives or the timeout passes
//   6. answerCallbackQuery / deleteMessage answer `result: null` -> we answer `true`
//
// Test-side additions (not Bot API): /sendMessage, /sendCommand and /sendCallback answer the
// stored message / callback query id instead of null, and two read-only routes expose what the
// bot did: GET /x/callbackAnswers?token=T and GET /x/requests?token=T.
'use strict';

const TelegramServer = require('telegram-test-api');
const sendResultModule = require('telegram-test-api/lib/modules/sendResult');

const BOT_USER = { id: 666, is_bot: true, first_name: 'Test First name', username: 'TestNameBot' };

let server = null;
const callbackAnswers = new Map(); // token -> {callback_query_id: answer}
const requests = new Map(); // token -> [{method, params, time}]

function chatType(chatId) {
  return Number(chatId) < 0 ? 'supergroup' : 'private';
}

function toSeconds(date) {
  const n = Number(date);
  return n > 1e11 ? Math.floor(n / 1000) : n;
}

// PTB sends object-valued parameters JSON-encoded; telegram-test-api stores and echoes them as
// strings, which PTB then fails to parse as objects ("LinkPreviewOptions() argument after **
// must be a mapping, not str"). Decode them back; drop what cannot be decoded.
const OBJECT_FIELDS = ['link_preview_options', 'reply_parameters', 'entities', 'caption_entities'];
function decodeObjectFields(msg) {
  for (const key of OBJECT_FIELDS) {
    if (typeof msg[key] === 'string') {
      try { msg[key] = JSON.parse(msg[key]); } catch (e) { delete msg[key]; }
    }
  }
  delete msg.reply_parameters; // a request parameter, not a Message field
  return msg;
}

function formatBotMessage(stored) {
  const m = stored.message;
  const msg = {
    ...m,
    message_id: stored.messageId,
    date: toSeconds(stored.time),
    from: BOT_USER,
    chat: { id: Number(m.chat_id), type: chatType(m.chat_id) },
  };
  if (!(m.reply_markup && 'inline_keyboard' in m.reply_markup)) delete msg.reply_markup;
  delete msg.chat_id;
  return decodeObjectFields(msg);
}

function findBotMessage(body) {
  return server.storage.botMessages.find(
    (u) => String(u.messageId) === String(body.message_id) && String(u.message.chat_id) === String(body.chat_id),
  );
}

function remember(map, token, fn) {
  if (!map.has(token)) map.set(token, fn());
  return map.get(token);
}

// --- shims 1-6 and the client answers, wrapped around the package's own result middleware ----
const originalSendResult = sendResultModule.sendResult;
sendResultModule.sendResult = (req, res, next) => {
  originalSendResult(req, res, () => {
    const plainSend = res.sendResult;
    const plainError = res.sendError;
    res.sendError = (error) => {
      const botRoute = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(req.path);
      if (botRoute) {
        remember(requests, botRoute[1], () => []).push({
          method: botRoute[2], params: { ...req.query, ...(req.body || {}) }, time: Date.now(), error: String(error.message),
        });
      }
      plainError(error);
    };
    res.sendResult = (data) => {
      const botRoute = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(req.path);
      if (botRoute && data && data.ok) {
        const token = botRoute[1];
        const method = botRoute[2];
        const params = { ...req.query, ...(req.body || {}) };
        if (method !== 'getUpdates') {
          remember(requests, token, () => []).push({ method, params, time: Date.now() });
        }
        if (method === 'getMe') {
          data = { ...data, result: { ...BOT_USER, ...data.result, is_bot: true } };
        } else if (method === 'sendMessage' && data.result) {
          const r = data.result;
          data = {
            ...data,
            result: {
              ...r,
              date: toSeconds(r.date),
              from: BOT_USER,
              chat: { ...r.chat, type: chatType(r.chat.id) },
            },
          };
          delete data.result.chat_id;
          delete data.result.botToken;
          decodeObjectFields(data.result);
          if (!data.result.reply_markup) delete data.result.reply_markup;
        } else if (method === 'editMessageText' || method === 'editMessageReplyMarkup') {
          const stored = findBotMessage(params);
          data = { ...data, result: stored ? formatBotMessage(stored) : true };
        } else if (method === 'answerCallbackQuery') {
          const answers = remember(callbackAnswers, token, () => ({}));
          answers[String(params.callback_query_id)] = {
            text: params.text === undefined ? null : params.text,
            show_alert: String(params.show_alert) === 'true',
            url: params.url === undefined ? null : params.url,
            cache_time: params.cache_time === undefined ? null : Number(params.cache_time),
          };
          data = { ...data, result: true };
        } else if (method === 'deleteMessage' || method === 'setWebhook') {
          data = { ...data, result: true };
        } else if (method === 'getUpdates') {
          const timeout = Number(params.timeout || 0);
          if (Array.isArray(data.result) && data.result.length === 0 && timeout > 0) {
            longPoll(req, res, token, timeout, plainSend);
            return;
          }
        }
      } else if (data && data.ok && req.method === 'POST' && (req.path === '/sendMessage' || req.path === '/sendCommand')) {
        const stored = server.storage.userMessages.find((u) => u.message === req.body);
        if (stored) data = { ...data, result: { ...stored.message, message_id: stored.messageId } };
      } else if (data && data.ok && req.method === 'POST' && req.path === '/sendCallback') {
        const stored = server.storage.userMessages.find((u) => u.callbackQuery === req.body);
        if (stored) data = { ...data, result: { callback_query_id: String(stored.callbackId) } };
      }
      plainSend(data);
    };
    next();
  });
};

// 5: hold an empty getUpdates until a user update arrives or the timeout passes. If the bot
// goes away (PTB cancels the request on shutdown) nothing is fetched, so nothing is lost.
function longPoll(req, res, token, timeoutSeconds, send) {
  const events = ['AddedUserMessage', 'AddedUserCommand', 'AddedUserCallbackQuery'];
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    events.forEach((e) => server.off(e, onEvent));
    res.off('close', onClose);
    send({ ok: true, result: server.getUpdates(token) });
  };
  const onEvent = () => setImmediate(() => {
    if (!done && server.storage.userMessages.some((u) => u.botToken === token && !u.isRead)) finish();
  });
  const onClose = () => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    events.forEach((e) => server.off(e, onEvent));
  };
  const timer = setTimeout(finish, Math.min(timeoutSeconds, 50) * 1000);
  events.forEach((e) => server.on(e, onEvent));
  res.on('close', onClose);
}

// 4: callback queries carry chat_instance (and the message's chat) like Telegram's
const originalFormatUpdate = TelegramServer.formatUpdate;
TelegramServer.formatUpdate = (update) => {
  const formatted = originalFormatUpdate(update);
  if (formatted.callback_query) {
    const message = formatted.callback_query.message || {};
    const chatId = message.chat ? message.chat.id : 0;
    formatted.callback_query.chat_instance = String(update.callbackQuery.chat_instance || `ci${chatId}`);
  }
  if (formatted.message && formatted.message.botToken !== undefined) {
    formatted.message = { ...formatted.message };
    delete formatted.message.botToken;
  }
  return formatted;
};

// --- read-only test routes, registered before the package's catch-all ------------------------
const routesModule = require('telegram-test-api/lib/routes/index');

routesModule.routes.unshift((app) => {
  app.get('/x/callbackAnswers', (req, res) => {
    res.json({ ok: true, result: callbackAnswers.get(String(req.query.token)) || {} });
  });
  app.get('/x/requests', (req, res) => {
    res.json({ ok: true, result: requests.get(String(req.query.token)) || [] });
  });
});

async function main() {
  const port = Number(process.argv[2] || 0);
  const storeTimeout = Number(process.argv[3] || 600);
  // telegram-test-api treats port 0 as unset (config.port || 9000): build it with a dummy port,
  // then ask for the real one (listen() reads config.port in start()).
  server = new TelegramServer({ port: port || 9000, host: '127.0.0.1', storeTimeout });
  server.setMaxListeners(0);
  server.config.port = port;
  await server.start();
  const actual = server.server.address().port;
  server.config.port = actual;
  server.config.apiURL = `http://127.0.0.1:${actual}`;

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    try {
      await Promise.race([server.stop(), new Promise((r) => setTimeout(r, 2000))]);
    } finally {
      process.exit(0);
    }
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.resume();
  process.stdout.write(`ready ${actual}\n`);
}

main().catch((err) => {
  process.stderr.write(`telegram-test-api failed to start: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
