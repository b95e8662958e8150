//! [`AnyAlg`]: every ALG of this crate behind one type, dispatched without allocation or
//! trait objects. The one place that lists the engines' types.

use crate::common::Alg;
use crate::kind::AlgKind;
use crate::types::{Actions, AlgConfig, AlgCounters, FlowCtx, Side};
use crate::{
    dcerpc, dns, ftp, h323, ike, pptp, rpc, rsh, rtsp, sip, sqlnet, talk, tftp, traceroute,
};

/// Any ALG of this crate, dispatched without allocation or trait objects.
#[derive(Debug, Clone)]
pub enum AnyAlg {
    /// [`ftp::Ftp`].
    Ftp(ftp::Ftp),
    /// [`tftp::Tftp`].
    Tftp(tftp::Tftp),
    /// [`dns::Dns`].
    Dns(dns::Dns),
    /// [`rpc::RpcPortmap`].
    Rpc(rpc::RpcPortmap),
    /// [`rsh::Rsh`] (also rexec and rlogin).
    Rsh(rsh::Rsh),
    /// [`talk::Talk`].
    Talk(talk::Talk),
    /// [`traceroute::Traceroute`].
    Traceroute(traceroute::Traceroute),
    /// [`sip::Sip`] (boxed: its reassembly buffers are large).
    Sip(Box<sip::Sip>),
    /// [`rtsp::Rtsp`] (boxed: its reassembly buffers are large).
    Rtsp(Box<rtsp::Rtsp>),
    /// [`ike::Ike`].
    Ike(ike::Ike),
    /// [`sqlnet::Sqlnet`].
    Sqlnet(sqlnet::Sqlnet),
    /// [`pptp::Pptp`].
    Pptp(pptp::Pptp),
    /// [`dcerpc::DceRpc`] (the endpoint mapper).
    DceRpc(dcerpc::DceRpc),
    /// [`h323::H323`] (call signalling and H.245).
    H323(h323::H323),
}

impl AnyAlg {
    /// Builds the ALG of `kind` for the parent session `ctx`; `None` for an ALG this crate
    /// has no engine for ([`AlgKind::has_engine`]).
    #[must_use]
    pub fn new(kind: AlgKind, cfg: AlgConfig, ctx: FlowCtx) -> Option<AnyAlg> {
        Some(match kind {
            AlgKind::Ftp => AnyAlg::Ftp(ftp::Ftp::new(cfg, ctx)),
            AlgKind::Tftp => AnyAlg::Tftp(tftp::Tftp::new(cfg, ctx)),
            AlgKind::Dns => AnyAlg::Dns(dns::Dns::new(cfg, ctx)),
            AlgKind::RpcPortmap => AnyAlg::Rpc(rpc::RpcPortmap::new(cfg, ctx)),
            AlgKind::Rsh | AlgKind::Rexec | AlgKind::Rlogin => {
                AnyAlg::Rsh(rsh::Rsh::new(kind, cfg, ctx))
            }
            AlgKind::Talk => AnyAlg::Talk(talk::Talk::new(cfg, ctx)),
            AlgKind::Traceroute => AnyAlg::Traceroute(traceroute::Traceroute::new(cfg, ctx)),
            AlgKind::Sip => AnyAlg::Sip(Box::new(sip::Sip::new(cfg, ctx))),
            AlgKind::Rtsp => AnyAlg::Rtsp(Box::new(rtsp::Rtsp::new(cfg, ctx))),
            AlgKind::IkeEspNat => AnyAlg::Ike(ike::Ike::new(cfg, ctx)),
            AlgKind::Sqlnet => AnyAlg::Sqlnet(sqlnet::Sqlnet::new(cfg, ctx)),
            AlgKind::Pptp => AnyAlg::Pptp(pptp::Pptp::new(cfg, ctx)),
            AlgKind::DceRpcPortmap => AnyAlg::DceRpc(dcerpc::DceRpc::new(cfg, ctx)),
            AlgKind::H323 => AnyAlg::H323(h323::H323::new(cfg, ctx)),
            _ => return None,
        })
    }

    fn inner(&self) -> &dyn Alg {
        match self {
            AnyAlg::Ftp(a) => a,
            AnyAlg::Tftp(a) => a,
            AnyAlg::Dns(a) => a,
            AnyAlg::Rpc(a) => a,
            AnyAlg::Rsh(a) => a,
            AnyAlg::Talk(a) => a,
            AnyAlg::Traceroute(a) => a,
            AnyAlg::Sip(a) => a.as_ref(),
            AnyAlg::Rtsp(a) => a.as_ref(),
            AnyAlg::Ike(a) => a,
            AnyAlg::Sqlnet(a) => a,
            AnyAlg::Pptp(a) => a,
            AnyAlg::DceRpc(a) => a,
            AnyAlg::H323(a) => a,
        }
    }

    fn inner_mut(&mut self) -> &mut dyn Alg {
        match self {
            AnyAlg::Ftp(a) => a,
            AnyAlg::Tftp(a) => a,
            AnyAlg::Dns(a) => a,
            AnyAlg::Rpc(a) => a,
            AnyAlg::Rsh(a) => a,
            AnyAlg::Talk(a) => a,
            AnyAlg::Traceroute(a) => a,
            AnyAlg::Sip(a) => a.as_mut(),
            AnyAlg::Rtsp(a) => a.as_mut(),
            AnyAlg::Ike(a) => a,
            AnyAlg::Sqlnet(a) => a,
            AnyAlg::Pptp(a) => a,
            AnyAlg::DceRpc(a) => a,
            AnyAlg::H323(a) => a,
        }
    }
}

impl Alg for AnyAlg {
    fn kind(&self) -> AlgKind {
        self.inner().kind()
    }
    fn on_data(
        &mut self,
        now_ms: u64,
        side: Side,
        seq: Option<u32>,
        payload: &[u8],
        out: &mut Actions,
    ) {
        self.inner_mut().on_data(now_ms, side, seq, payload, out);
    }
    fn on_timeout(&mut self, now_ms: u64, out: &mut Actions) {
        self.inner_mut().on_timeout(now_ms, out);
    }
    fn poll_timeout(&self) -> Option<u64> {
        self.inner().poll_timeout()
    }
    fn sync_seq(&mut self, side: Side, next_seq: u32) {
        self.inner_mut().sync_seq(side, next_seq);
    }
    fn pinhole_resolved(&mut self, now_ms: u64) {
        self.inner_mut().pinhole_resolved(now_ms);
    }
    fn counters(&self) -> &AlgCounters {
        self.inner().counters()
    }
    fn config(&self) -> &AlgConfig {
        self.inner().config()
    }
}
