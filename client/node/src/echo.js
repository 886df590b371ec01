// The business handler: replace this file with your own logic.
//
// A handler gets the decrypted push and returns the passive reply message in
// plaintext (a string or Buffer, XML or JSON as WeChat would send it in
// plaintext mode), or null for "no reply". The gateway encrypts it if the
// push was encrypted. It never sees a key, a signature or an envelope.
//
// This one echoes text messages: a text message is answered with a text
// message "echo: <Content>", ToUserName and FromUserName swapped, in the
// dialect of the push (XML or JSON). Anything else gets no reply.

/**
 * @param {object} push
 * @param {string} push.appId
 * @param {Buffer} push.message  the plaintext message, as WeChat wrote it
 * @param {Record<string,string>} push.fields  its top-level fields (from wxcrypto)
 * @param {'xml'|'json'} push.format  the dialect of push.message
 * @returns {string|Buffer|null|Promise<string|Buffer|null>}
 */
export function echoHandler({ fields, format }) {
  if (fields.MsgType !== 'text') return null;
  const reply = {
    ToUserName: fields.FromUserName ?? '',
    FromUserName: fields.ToUserName ?? '',
    CreateTime: Math.floor(Date.now() / 1000),
    MsgType: 'text',
    Content: `echo: ${fields.Content ?? ''}`,
  };
  return format === 'json' ? JSON.stringify(reply) : toXml(reply);
}

/** A flat WeChat message: strings in CDATA, numbers bare. */
export function toXml(message) {
  const children = Object.entries(message).map(([name, value]) =>
    typeof value === 'number'
      ? `<${name}>${value}</${name}>`
      : `<${name}><![CDATA[${String(value).replaceAll(']]>', ']]]]><![CDATA[>')}]]></${name}>`,
  );
  return `<xml>${children.join('')}</xml>`;
}
