"""The federated-learning engine: data, federations, models, local training, aggregation, evaluation."""
