//! Application payloads for tests: the first bytes a client of a
//! protocol sends, as real clients write them.

/// A TLS 1.2-record ClientHello naming `name` in its `server_name`
/// extension, with an extension before it (ec_point_formats) and one after
/// (ALPN `h2`), a 32-byte session ID and one cipher suite.
pub fn tls_client_hello(name: &str) -> Vec<u8> {
    let name = name.as_bytes();
    let mut ext = vec![0x00, 0x0b, 0, 2, 1, 0]; // ec_point_formats
    let list_len = name.len() + 3;
    ext.extend([0, 0]);
    ext.extend(((list_len + 2) as u16).to_be_bytes());
    ext.extend((list_len as u16).to_be_bytes());
    ext.push(0);
    ext.extend((name.len() as u16).to_be_bytes());
    ext.extend(name);
    ext.extend([0x00, 0x10, 0, 5, 0, 3, 2, b'h', b'2']); // ALPN
    let mut body = vec![3, 3];
    body.extend([7u8; 32]);
    body.extend([32]);
    body.extend([9u8; 32]);
    body.extend([0, 2, 0x13, 0x01, 1, 0]);
    body.extend((ext.len() as u16).to_be_bytes());
    body.extend(ext);
    let mut hs = vec![1, 0];
    hs.extend((body.len() as u16).to_be_bytes());
    hs.extend(body);
    let mut rec = vec![0x16, 3, 1];
    rec.extend((hs.len() as u16).to_be_bytes());
    rec.extend(hs);
    rec
}
