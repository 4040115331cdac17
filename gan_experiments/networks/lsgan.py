"""The former names of the course notes' convolutional GAN networks (now `networks/conv_gan.py`), kept
because checkpoints and packed generators written before the rename name these classes in their run
configs (`_target_: gan_experiments.networks.lsgan.LSGANGenerator`). "LSGAN" named the loss the notes
train them with, not the networks; new configs use `model=conv_gan`."""

from gan_experiments.networks.conv_gan import ConvGANDiscriminator, ConvGANGenerator, conv_gan_stages

LSGANGenerator = ConvGANGenerator
LSGANDiscriminator = ConvGANDiscriminator
lsgan_stages = conv_gan_stages

__all__ = ["LSGANDiscriminator", "LSGANGenerator", "lsgan_stages"]
