//! Per-conversation attention keys and values, kept apart from the shared weights.

use candle_core::{DType, Device, Result, Tensor};

/// Room for this many more positions is added whenever a layer's buffer fills up.
const GROWTH: usize = 512;

/// One layer's keys and values in buffers of shape (1, kv_heads, capacity, head_dim), of
/// which the first `len` positions are valid. Appending writes in place, so a decode step
/// does not copy the whole history.
#[derive(Debug, Clone, Default)]
struct LayerCache {
    buffers: Option<(Tensor, Tensor)>,
    len: usize,
}

impl LayerCache {
    fn append(&mut self, k: &Tensor, v: &Tensor) -> Result<(Tensor, Tensor)> {
        let (_, kv_heads, new, head_dim) = k.dims4()?;
        let needed = self.len + new;
        let capacity = match &self.buffers {
            Some((k_buf, _)) => k_buf.dim(2)?,
            None => 0,
        };
        if needed > capacity {
            let capacity = needed.div_ceil(GROWTH) * GROWTH;
            let zeros = |dtype: DType, device: &Device| {
                Tensor::zeros((1, kv_heads, capacity, head_dim), dtype, device)
            };
            let (k_buf, v_buf) = (zeros(k.dtype(), k.device())?, zeros(v.dtype(), v.device())?);
            if let Some((old_k, old_v)) = &self.buffers {
                k_buf.slice_set(&old_k.narrow(2, 0, self.len)?.contiguous()?, 2, 0)?;
                v_buf.slice_set(&old_v.narrow(2, 0, self.len)?.contiguous()?, 2, 0)?;
            }
            self.buffers = Some((k_buf, v_buf));
        }
        let Some((k_buf, v_buf)) = &self.buffers else {
            candle_core::bail!("kv cache buffers missing after allocation");
        };
        k_buf.slice_set(&k.contiguous()?, 2, self.len)?;
        v_buf.slice_set(&v.contiguous()?, 2, self.len)?;
        self.len = needed;
        Ok((k_buf.narrow(2, 0, needed)?, v_buf.narrow(2, 0, needed)?))
    }
}

/// The attention state of one conversation: for every layer the keys and values of the
/// tokens in `tokens`, in order.
#[derive(Debug)]
pub struct KvCache {
    layers: Vec<LayerCache>,
    tokens: Vec<u32>,
}

impl KvCache {
    pub fn new(layer_count: usize) -> Self {
        Self {
            layers: vec![LayerCache::default(); layer_count],
            tokens: Vec::new(),
        }
    }

    /// Bytes held by the key and value buffers, including room not yet used.
    pub fn allocated_bytes(&self) -> usize {
        self.layers
            .iter()
            .filter_map(|layer| layer.buffers.as_ref())
            .map(|(k, v)| (k.elem_count() + v.elem_count()) * k.dtype().size_in_bytes())
            .sum()
    }

    pub fn layer_count(&self) -> usize {
        self.layers.len()
    }

    /// The tokens whose keys and values are cached.
    pub fn tokens(&self) -> &[u32] {
        &self.tokens
    }

    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// An independent copy of the first `len` positions (buffers sized to fit them).
    pub fn fork(&self, len: usize) -> Result<Self> {
        let len = len.min(self.tokens.len());
        let layers = self
            .layers
            .iter()
            .map(|layer| {
                let buffers = match &layer.buffers {
                    Some((k, v)) if len > 0 => Some((
                        k.narrow(2, 0, len)?.contiguous()?.copy()?,
                        v.narrow(2, 0, len)?.contiguous()?.copy()?,
                    )),
                    _ => None,
                };
                Ok(LayerCache {
                    buffers,
                    len: layer.len.min(len),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            layers,
            tokens: self.tokens[..len].to_vec(),
        })
    }

    /// Forgets every position from `len` on; the buffers are kept for reuse.
    pub fn truncate(&mut self, len: usize) {
        let len = len.min(self.tokens.len());
        self.tokens.truncate(len);
        for layer in &mut self.layers {
            layer.len = layer.len.min(len);
        }
    }

    /// Appends one layer's new keys and values and returns all of that layer's keys and
    /// values so far.
    pub(super) fn append(
        &mut self,
        layer: usize,
        k: &Tensor,
        v: &Tensor,
    ) -> Result<(Tensor, Tensor)> {
        match self.layers.get_mut(layer) {
            Some(cache) => cache.append(k, v),
            None => candle_core::bail!("kv cache has no layer {layer}"),
        }
    }

    /// A layer's key and value buffers, (1, kv_heads, capacity, head_dim), of which the first
    /// [`KvCache::len`] positions are valid once the step's tokens are recorded.
    pub(super) fn buffers(&self, layer: usize) -> Option<&(Tensor, Tensor)> {
        self.layers.get(layer)?.buffers.as_ref()
    }

    /// Records the tokens whose keys and values every layer has just appended.
    pub(super) fn push_tokens(&mut self, tokens: &[u32]) {
        self.tokens.extend_from_slice(tokens);
    }
}
