//! The FTP (ALG) mix: control connections with PASV or PORT (EPSV or EPRT over IPv6) and their data connections.

use super::churn::*;
use super::shape::*;
use std::net::IpAddr;

/// The FTP server port (control connection).
pub const FTP_PORT: u16 = 21;

/// Frames of one session of [`ftp_mix`].
pub const FTP_SESSION_FRAMES: usize = 27;

pub(crate) fn ftp_addr_v4(a: IpAddr) -> String {
    match a {
        IpAddr::V4(v) => {
            let o = v.octets();
            format!("{},{},{},{}", o[0], o[1], o[2], o[3])
        }
        IpAddr::V6(v) => v.to_string(),
    }
}

/// An FTP mix: `sessions` FTP sessions, each a control connection to port 21 (banner,
/// USER, PASS, TYPE I, a data-connection command, RETR, the transfer, 226, QUIT, close) and
/// the data connection its command announces, as packets with consistent sequence numbers.
/// Even sessions use passive mode (IPv4 `PASV` / `227 … (h1,h2,h3,h4,p1,p2)`, IPv6 `EPSV` /
/// `229 … (|||port|)`: the client connects to the announced server port), odd sessions
/// active mode (IPv4 `PORT h1,h2,h3,h4,p1,p2`, IPv6 `EPRT |2|addr|port|`: the server connects
/// from port 20 to the client's port). Each data connection carries a 1024-byte file.
pub fn ftp_mix(
    sessions: u32,
    family: Family,
    vlan: Option<u16>,
) -> impl Iterator<Item = (bool, Vec<u8>)> {
    (0..sessions).flat_map(move |i| ftp_session(i, family, vlan))
}

/// The frames of FTP session `i` of [`ftp_mix`].
#[must_use]
pub fn ftp_session(i: u32, family: Family, vlan: Option<u16>) -> Vec<(bool, Vec<u8>)> {
    let e = endpoints(i, family, Proto::Tcp);
    let (client, server) = (e.client, e.server);
    let mut ctl = TcpConn::new(
        (client, e.sport),
        (server, FTP_PORT),
        [isn(i, 2), isn(i, 3)],
        true,
    );
    ctl.vlan = vlan;
    let mut v = ctl.handshake();
    let mut say = |v: &mut Vec<(bool, Vec<u8>)>, from_client: bool, text: &str| {
        v.push(ctl.data(from_client, text.as_bytes()));
    };
    say(&mut v, false, "220 (vsFTPd 3.0.3)\r\n");
    say(&mut v, true, "USER anonymous\r\n");
    say(&mut v, false, "331 Please specify the password.\r\n");
    say(&mut v, true, "PASS guest@example.com\r\n");
    say(&mut v, false, "230 Login successful.\r\n");
    say(&mut v, true, "TYPE I\r\n");
    say(&mut v, false, "200 Switching to Binary mode.\r\n");
    let passive = i & 1 == 0;
    let file = format!("file-{i}.bin");
    let data_port = if passive {
        // The server's passive port range.
        40_000 + (mix(i, 0x7feb_352d) % 10_000) as u16
    } else {
        // The client's next ephemeral port.
        32_768 + (mix(i, 0x846c_a68b) % 28_232) as u16
    };
    let (p1, p2) = (data_port >> 8, data_port & 0xff);
    let v6 = family == Family::V6;
    let mut data = if passive {
        if v6 {
            say(&mut v, true, "EPSV\r\n");
            say(
                &mut v,
                false,
                &format!("229 Entering Extended Passive Mode (|||{data_port}|)\r\n"),
            );
        } else {
            say(&mut v, true, "PASV\r\n");
            say(
                &mut v,
                false,
                &format!(
                    "227 Entering Passive Mode ({},{p1},{p2}).\r\n",
                    ftp_addr_v4(server)
                ),
            );
        }
        // The client's next ephemeral port.
        let cport = 32_768 + (e.sport - 32_767) % 28_232;
        TcpConn::new(
            (client, cport),
            (server, data_port),
            [isn(i, 4), isn(i, 5)],
            true,
        )
    } else {
        if v6 {
            say(&mut v, true, &format!("EPRT |2|{client}|{data_port}|\r\n"));
            say(
                &mut v,
                false,
                "200 EPRT command successful. Consider using EPSV.\r\n",
            );
        } else {
            say(
                &mut v,
                true,
                &format!("PORT {},{p1},{p2}\r\n", ftp_addr_v4(client)),
            );
            say(
                &mut v,
                false,
                "200 PORT command successful. Consider using PASV.\r\n",
            );
        }
        // Active mode: the server opens the data connection from port 20.
        TcpConn::new(
            (server, 20),
            (client, data_port),
            [isn(i, 4), isn(i, 5)],
            false,
        )
    };
    data.vlan = vlan;
    say(&mut v, true, &format!("RETR {file}\r\n"));
    v.extend(data.handshake());
    say(
        &mut v,
        false,
        &format!("150 Opening BINARY mode data connection for {file} (1024 bytes).\r\n"),
    );
    // The file goes from the server: side b in passive mode, side a in active mode.
    let server_is_a = !passive;
    v.push(data.data(server_is_a, &payload(1024, i)));
    v.extend(data.close(server_is_a));
    say(&mut v, false, "226 Transfer complete.\r\n");
    say(&mut v, true, "QUIT\r\n");
    say(&mut v, false, "221 Goodbye.\r\n");
    v.extend(ctl.close(false));
    v
}
