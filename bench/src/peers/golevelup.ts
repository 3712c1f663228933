export const startGolevelupConsumer = async () => ({ stop: async () => undefined });
