//! The compute device from settings.

use crate::config::Device;

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("VIVA_DEVICE=cuda needs a build with `--features cuda`")]
    CudaNotBuilt,
    #[error("cannot open CUDA device {0}: {1}")]
    Cuda(usize, String),
}

pub fn candle_device(device: Device) -> Result<candle_core::Device, DeviceError> {
    match device {
        Device::Cpu => Ok(candle_core::Device::Cpu),
        Device::Cuda(n) if cfg!(feature = "cuda") => {
            candle_core::Device::new_cuda(n).map_err(|e| DeviceError::Cuda(n, e.to_string()))
        }
        Device::Cuda(_) => Err(DeviceError::CudaNotBuilt),
    }
}
