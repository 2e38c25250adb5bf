"""What a trained model does: evaluation metrics, attribution per modality, compression."""
